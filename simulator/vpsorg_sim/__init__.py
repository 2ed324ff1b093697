"""A simulator of the VPS.org backup and snapshot API, for tests, demos and sandboxes."""

from .server import DEFAULT_TOKEN, SimServer
from .state import SimState

__all__ = ["DEFAULT_TOKEN", "SimServer", "SimState"]
