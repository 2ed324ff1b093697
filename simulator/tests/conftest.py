import os
import sys

import pytest
import requests

# The simulator is not installed: its package sits beside this folder.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytest_plugins = ["vpsorg_sim.testing"]


class Api:
    """A bare HTTP client for the simulator's API (deliberately not the collection's client)."""

    def __init__(self, sim, token=None):
        self.base = sim.api_url
        self.headers = {"Authorization": "Bearer %s" % (token or sim.token)}

    def __call__(self, method, path, **kwargs):
        headers = dict(self.headers, **kwargs.pop("headers", {}))
        return requests.request(method, self.base + path, headers=headers, timeout=15, **kwargs)


@pytest.fixture
def api(vpsorg_sim):
    return Api(vpsorg_sim)
