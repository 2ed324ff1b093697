"""An in-memory implementation of the client's interface, for engine tests without HTTP.

It is not a mocked ``requests``: it keeps servers, snapshots and backups as
the API would, answers the client's methods (``list``, ``get``, ``post``,
``delete``) from them, and borrows the real client's ``post_once`` and
``wait_for`` so the engine is tested with the real reconciliation and wait
loop. Every call is recorded in ``log`` as ``(method, path)``, so a test can assert
exactly what the engine asked.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest

from ansible.module_utils.common import warnings as ansible_warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.vpsorg.cloud.plugins.module_utils.client import (
    ALREADY_GONE,
    DELETED,
    DELETED_ANSWER_LOST,
    NoAnswerError,
    RetryPolicy,
    VpsorgApiError,
    VpsorgClient,
)

CREATED_AT = "2026-11-%02dT%02d:00:00Z"


class FakeApi:
    """The account's objects, and the client methods the engine calls."""

    def __init__(self):
        self.servers = {101: {"id": 101, "name": "web-01", "status": "running"},
                        102: {"id": 102, "name": "db-01", "status": "running"}}
        self.objects = {"/snapshots/": {}, "/backups/": {}}
        self.next_id = 801
        self.clock = 0
        self.log = []
        self.calls = 0  # what the engine reports as api_calls
        self.retry = RetryPolicy(retries=3, jitter=lambda: 1.0)
        # What the next requests meet: a list of (method, path prefix, action) consumed in order.
        self.faults = []
        # Objects still in progress after this many list reads (None: never done).
        self.in_progress_reads = 0
        # Whether a restore ends at the next read of its server.
        self.restores_end = True
        self.on_post = None
        # Called once the next POST was carried out, before it is answered (a racer that comes just after).
        self.on_carried_out = None
        # An API that ignores the server_id filter of a list.
        self.ignore_filters = False

    # ------------------------------------------------------------ the state

    def add(self, path, server_id, status="completed", **fields):
        """An object as the API would hold it; later adds are newer."""
        self.clock += 1
        obj = dict(fields, id=self.next_id, server={"id": server_id, "name": self.servers[server_id]["name"]},
                   status=status, created_at=CREATED_AT % (1 + self.clock // 24, self.clock % 24))
        self.next_id += 1
        self.objects[path][obj["id"]] = obj
        return obj

    def ids(self, path):
        return sorted(self.objects[path])

    # ------------------------------------------------------------ client interface

    post_once = VpsorgClient.post_once
    wait_for = VpsorgClient.wait_for

    def sleep(self, _seconds):
        """Time does not pass in these tests; the fake's state moves on with each read instead."""

    def _record(self, method, path):
        self.calls += 1
        self.log.append((method, path))
        for index, (fault_method, prefix, action) in enumerate(self.faults):
            if fault_method == method and path.startswith(prefix):
                del self.faults[index]
                return action
        return None

    def list(self, path, params=None, passes=None):
        self._record("GET", path)
        self._progress(path)
        server_id = None if self.ignore_filters else (params or {}).get("server_id")
        return [dict(o) for o in self.objects[path].values() if server_id is None or o["server"]["id"] == server_id]

    def first_page(self, path, params=None):
        """The whole list as one page: this fake never pages."""
        objects = self.list(path, params)
        return objects, len(objects), False

    def get(self, path, params=None):
        fault = self._record("GET", path)
        if fault == "500":
            raise VpsorgApiError("GET %s failed with HTTP 500" % path, method="GET", path=path, status=500)
        server_id = int(re.match(r"/servers/(\d+)/", path).group(1))
        if server_id not in self.servers:
            raise VpsorgApiError("GET %s failed with HTTP 404" % path, method="GET", path=path, status=404)
        server = self.servers[server_id]
        if server["status"] == "restoring" and self.restores_end:
            server["status"] = "running"
        return dict(server)

    def post(self, path, body=None):
        fault = self._record("POST", path)
        if fault == "refuse":
            raise VpsorgApiError("POST %s failed with HTTP 503" % path, method="POST", path=path, status=503,
                                 maybe_committed=True)
        if fault in ("400", "404"):
            raise VpsorgApiError("POST %s failed with HTTP %s: Server not found." % (path, fault), method="POST",
                                 path=path, status=int(fault))
        if self.on_post:
            self.on_post(path, body)
        answer = self._carry_out(path, body or {})
        if self.on_carried_out:
            carried_out, self.on_carried_out = self.on_carried_out, None
            carried_out()
        if fault == "lose_answer":
            raise NoAnswerError("POST %s got no answer" % path, method="POST", path=path, maybe_committed=True)
        return answer

    def delete(self, path, missing_ok=False):
        fault = self._record("DELETE", path)
        collection, object_id = re.match(r"(/\w+/)(\d+)/", path).groups()
        if self.objects[collection].pop(int(object_id), None) is None:
            if missing_ok:
                return ALREADY_GONE
            raise VpsorgApiError("DELETE %s failed with HTTP 404" % path, method="DELETE", path=path, status=404)
        # Carried out, but the answer was lost: the client's retry meets a 404.
        return DELETED_ANSWER_LOST if fault == "lose_answer" else DELETED

    # ------------------------------------------------------------ behaviour

    def _carry_out(self, path, body):
        if path in self.objects:
            fields = dict((k, v) for k, v in body.items() if k != "server_id")
            if path == "/backups/":
                fields["backup_type"] = "manual"
            # A copy, as over the wire: later changes of the stored object do not show in this answer.
            return dict(self.add(path, body["server_id"], status="in_progress", **fields))
        if path.startswith("/servers/"):
            server_id = int(re.match(r"/servers/(\d+)/", path).group(1))
        else:
            server_id = self.objects["/snapshots/"][int(re.match(r"/snapshots/(\d+)/", path).group(1))]["server"]["id"]
        self.servers[server_id]["status"] = "restoring"
        return {"status": "success", "server": dict(self.servers[server_id])}

    def _progress(self, path):
        if self.in_progress_reads is None:
            return
        if self.in_progress_reads > 0:
            self.in_progress_reads -= 1
            return
        for obj in self.objects[path].values():
            if obj["status"] == "in_progress":
                obj["status"] = "completed"


@contextmanager
def no_connect(module_class, api):
    """Make ``module_class`` use ``api`` instead of a real client."""
    original = module_class._connect

    def connect(instance):
        instance.client = api

    module_class._connect = connect
    try:
        yield
    finally:
        module_class._connect = original


def run_module(module_class, api, capsys, check_mode=False, **params):
    """Run a module's whole flow against ``api``; return its JSON result."""
    args = dict(params, api_token="unit-token")
    # Ansible keeps warnings in a module-level store; one run's warnings must not show in the next one's result.
    ansible_warnings._global_warnings.clear()
    if check_mode:
        args["_ansible_check_mode"] = True
    with patch_module_args(args), no_connect(module_class, api), as_a_module():
        with pytest.raises(SystemExit):
            module_class.execute()
    return json.loads(capsys.readouterr().out)


@contextmanager
def as_a_module():
    """Run as a module runs on its host, also after a test imported controller code (a filter, ansible.errors).

    From ansible-core 2.19, importing any controller code marks the whole process a controller, and a
    module's warnings then go to the controller's display instead of into the module's result.
    """
    try:
        from ansible.module_utils import _internal
    except ImportError:  # ansible-core before 2.19: no such switch
        yield
        return
    was = getattr(_internal, "is_controller", False)
    _internal.is_controller = False
    try:
        yield
    finally:
        _internal.is_controller = was


def warning_texts(result):
    """The warnings' texts: plain strings, or structured events since ansible-core 2.19."""
    return [w if isinstance(w, str) else w.get("event", {}).get("msg", "") for w in result.get("warnings", [])]
