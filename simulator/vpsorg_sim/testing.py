"""Helpers for tests: a control client and a pytest fixture (``vpsorg_sim``).

Enable the fixture with ``pytest_plugins = ["vpsorg_sim.testing"]``.
"""

import secrets

import requests

from .app import CONTROL
from .server import SimServer


class SimControl:
    """Drives a running simulator through its control API, over HTTP."""

    def __init__(self, base_url):
        self.base = base_url.rstrip("/")
        if self.base.endswith("/api/v1"):
            self.base = self.base[: -len("/api/v1")]
        self.http = requests.Session()

    def _call(self, method, path, **kwargs):
        response = self.http.request(method, self.base + CONTROL + path, timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self, state=False, servers=False):
        return self._call("POST", "/reset", json={"state": state, "servers": servers})

    def requests(self, method=None, path=None):
        entries = self._call("GET", "/requests")
        return [
            e for e in entries
            if (method is None or e["method"] == method) and (path is None or e["path"].startswith(path))
        ]

    def clear_requests(self):
        self._call("DELETE", "/requests")

    def fault(self, kind, **options):
        return self._call("POST", "/faults", json=dict(kind=kind, **options))

    def clear_faults(self):
        self._call("DELETE", "/faults")

    def hold(self, kind, server_id=None):
        """Keep operations of ``kind`` (on ``server_id``, or any) in progress until released."""
        return self._call("POST", "/holds", json={"kind": kind, "server_id": server_id})

    def release(self, kind=None, server_id=None, finish=False):
        return self._call("DELETE", "/holds", json={"kind": kind, "server_id": server_id, "finish": finish})

    def backdate(self, kind, object_id, age_seconds):
        """Make a snapshot or backup ``age_seconds`` old (negative: created in the future)."""
        return self._call("PATCH", "/%ss/%d" % (kind, object_id), json={"age_seconds": age_seconds})

    def configure(self, **settings):
        return self._call("PATCH", "/config", json=settings)

    def plan_outcome(self, kind, outcome="failed", server_id=None, count=1):
        return self._call("POST", "/outcomes", json={"kind": kind, "outcome": outcome, "server_id": server_id, "count": count})

    def add_server(self, server_id, name=None, disk=None, status="running"):
        return self._call("POST", "/servers", json={"id": server_id, "name": name or "server-%d" % server_id, "disk": disk, "status": status})

    def seed_automatic_backup(self, server_id, **fields):
        return self._call("POST", "/servers/%d/automatic_backups" % server_id, json=fields)

    def health(self, server_id):
        return self.http.get(self.base + CONTROL + "/servers/%d/health" % server_id, timeout=10).status_code


class RunningSim:
    """What the fixture yields: the URL, the token, the control client and the server."""

    def __init__(self, server):
        self.server = server
        self.api_url = server.api_url
        self.token = server.token
        self.control = SimControl(server.url)


try:
    import pytest
except ImportError:  # pragma: no cover - the fixture only matters under pytest
    pytest = None

if pytest is not None:

    @pytest.fixture
    def vpsorg_sim(tmp_path):
        """A fresh simulator on a free loopback port with servers 101 and 102.

        Its token is random, so a test can look for it in any output.
        """
        token = "sim-token-%s" % secrets.token_hex(8)
        server = SimServer(token=token, storage_dir=str(tmp_path / "sim-storage")).start()
        server.state.configure(durations={"snapshot": 0.2, "backup": 0.2, "restore": 0.2})
        server.state.add_server(101, "web-01", str(tmp_path / "disk-101"))
        server.state.add_server(102, "db-01", str(tmp_path / "disk-102"))
        try:
            yield RunningSim(server)
        finally:
            server.stop()
