"""Unit tests run the collection's client against the simulator over loopback HTTP."""

import os
import sys

SIMULATOR = os.path.join(os.path.dirname(__file__), "..", "..", "simulator")
sys.path.insert(0, os.path.abspath(SIMULATOR))

pytest_plugins = ["vpsorg_sim.testing"]
