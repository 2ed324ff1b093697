#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpsorg_restore
short_description: Restore a VPS.org server from a backup or a snapshot
version_added: 1.0.0
description:
  - Restores a server from one of its backups or snapshots. B(This overwrites everything on the server) and cannot be
    undone; the provider stops the server before the restore begins.
  - Before anything is sent, the module checks that the source exists, is completed and belongs to O(server_id).
  - A restore is an action, not a state; every run that starts one reports C(changed=true).
    If the server is already being restored (for example a re-run after a lost connection), no second restore is
    started; the module waits for the running one and reports C(changed=false) with RV(restore_started=false).
author:
  - vpsorg.cloud maintainers (@vpsorg)
extends_documentation_fragment:
  - vpsorg.cloud.api
  - vpsorg.cloud.api.wait
  - vpsorg.cloud.api.actions
options:
  server_id:
    description: The id of the server to restore.
    type: int
    required: true
  backup_id:
    description: Restore from this backup (manual or automatic).
    type: int
  snapshot_id:
    description: Restore from this snapshot; it must be a snapshot of O(server_id).
    type: int
  snapshot_name:
    description: Restore from the snapshot of O(server_id) with this name.
    type: str
  wait_timeout:
    description:
      - Seconds to wait in all for the server to leave the C(restoring) status.
    type: int
    default: 3600
  allow_cross_server:
    description:
      - Allow restoring O(server_id) from a backup of another server.
      - A snapshot always restores its own server, so this does not apply to snapshots.
    type: bool
    default: false
notes:
  - In check mode everything is validated and nothing is sent; the task reports C(changed=true) and, with diff,
    the source that would be restored.
  - The wait ends when the server leaves C(restoring). C(running) is success; any other status fails the task.
seealso:
  - module: vpsorg.cloud.vpsorg_snapshot
  - module: vpsorg.cloud.vpsorg_backup
"""

EXAMPLES = r"""
- name: Roll a server back to the snapshot taken before patching
  vpsorg.cloud.vpsorg_restore:
    server_id: 12345
    snapshot_name: pre-patch-20261123

- name: Restore from a backup and do not wait
  vpsorg.cloud.vpsorg_restore:
    server_id: 12345
    backup_id: 501
    wait: false

- name: Clone another server's backup onto a spare server
  vpsorg.cloud.vpsorg_restore:
    server_id: 23456
    backup_id: 501
    allow_cross_server: true
"""

RETURN = r"""
server:
  description: The server after the restore (or as it is, in check mode).
  returned: always
  type: dict
  sample: {id: 12345, name: web-server-01, status: running}
source:
  description: What the server is (or would be) restored from.
  returned: always
  type: dict
  contains:
    kind:
      description: V(backup) or V(snapshot).
      type: str
    id:
      description: The backup's or snapshot's id.
      type: int
    name:
      description: The snapshot's name, or the backup's description.
      type: str
    created_at:
      description: When the source was taken.
      type: str
  sample: {kind: snapshot, id: 801, name: pre-patch-20261123, created_at: "2026-11-23T03:00:00Z"}
restore_started:
  description: Whether this run started a restore (false when one was already under way, and in check mode).
  returned: always
  type: bool
elapsed:
  description: Seconds the task took, waiting included.
  returned: always
  type: float
  sample: 312.4
api_calls:
  description: How many HTTP requests the task sent, retries included.
  returned: always
  type: int
  sample: 4
"""

import time

from ansible_collections.vpsorg.cloud.plugins.module_utils.base import VpsorgModule, server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.client import VpsorgApiError

RESTORING = "restoring"


def server_view(server):
    return {"id": server.get("id"), "name": server.get("name"), "status": server.get("status")}


class RestoreModule(VpsorgModule):
    argument_spec = dict(
        server_id=dict(type="int", required=True),
        backup_id=dict(type="int"),
        snapshot_id=dict(type="int"),
        snapshot_name=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
        allow_cross_server=dict(type="bool", default=False),
    )
    mutually_exclusive = [("backup_id", "snapshot_id", "snapshot_name")]
    required_one_of = [("backup_id", "snapshot_id", "snapshot_name")]

    def run(self):
        self.start_deadline(self.params["wait_timeout"])
        self.result["restore_started"] = False
        server = self.server()
        source = self.resolve_source()
        self.result["source"] = source
        self.result["server"] = server_view(server)

        if server.get("status") == RESTORING:
            self.warn("Server %s is already being restored; no new restore was started." % server["id"])
        else:
            self.changed(before={"server": server_view(server)}, after={"server": server_view(server), "restored_from": source})
            if self.check_mode:
                return
            self.start_restore(source)
            self.result["restore_started"] = True
        if self.params["wait"] and not self.check_mode:
            self.wait_for_restore()

    def _shape(self):
        # Failures too: a timed-out or failed restore reports how long it went on.
        self.result["elapsed"] = round(time.monotonic() - self.started, 1)
        return super(RestoreModule, self)._shape()

    # ------------------------------------------------------------- checks

    def server(self):
        return self.get_server(self.params["server_id"], " Nothing was restored.")

    def resolve_source(self):
        params = self.params
        if params["backup_id"] is not None:
            kind, label = "backup", "description"
            found = [b for b in self.client.list("/backups/") if b.get("id") == params["backup_id"]]
            missing = "Backup %s does not exist" % params["backup_id"]
        elif params["snapshot_id"] is not None:
            kind, label = "snapshot", "name"
            found = [s for s in self.client.list("/snapshots/") if s.get("id") == params["snapshot_id"]]
            missing = "Snapshot %s does not exist" % params["snapshot_id"]
        else:
            kind, label = "snapshot", "name"
            snapshots = self.client.list("/snapshots/", {"server_id": params["server_id"]})
            found = [s for s in snapshots if server_id_of(s) == params["server_id"] and s.get("name") == params["snapshot_name"]]
            missing = "Server %s has no snapshot named %r" % (params["server_id"], params["snapshot_name"])
            if len(found) > 1:
                self.fail("Server %s has %d snapshots named %r (ids %s); restore by snapshot_id instead; nothing was restored."
                          % (params["server_id"], len(found), params["snapshot_name"], ", ".join(str(s.get("id")) for s in found)))
        if not found:
            self.fail("%s; nothing was restored." % missing)
        source = found[0]
        self.check_owner(kind, source)
        if source.get("status") != "completed":
            self.fail("%s %s is %r, not completed; only a completed %s can be restored. Nothing was restored."
                      % (kind.capitalize(), source.get("id"), source.get("status"), kind))
        return {"kind": kind, "id": source.get("id"), "name": source.get(label), "created_at": source.get("created_at")}

    def check_owner(self, kind, source):
        owner, target = server_id_of(source), self.params["server_id"]
        if owner == target:
            return
        if kind == "snapshot":
            self.fail("Snapshot %s belongs to server %s, and a snapshot only restores its own server; nothing was restored "
                      "on server %s." % (source.get("id"), owner, target))
        if not self.params["allow_cross_server"]:
            self.fail("Backup %s belongs to server %s, not to server %s; restoring it would overwrite server %s with "
                      "another server's data. Set allow_cross_server=true if that is what you want. Nothing was restored."
                      % (source.get("id"), owner, target, target))

    # ------------------------------------------------------------- actions

    def start_restore(self, source):
        server_id = self.params["server_id"]
        try:
            if source["kind"] == "backup":
                answer = self.client.post("/servers/%d/restore/" % server_id, {"backup_id": source["id"]})
            else:
                answer = self.client.post("/snapshots/%d/restore/" % source["id"])
        except VpsorgApiError as exc:
            self.explain_failed_start(exc)
            return
        if isinstance(answer, dict) and isinstance(answer.get("server"), dict):
            self.result["server"] = server_view(answer["server"])

    def explain_failed_start(self, exc):
        if exc.status == 400 and "valid state" in exc.message:
            status = self.server().get("status")
            self.fail_api(exc, msg="%s The server's status is %r; a restore needs it running or stopped." % (exc.message, status))
        if exc.maybe_committed:
            # The POST may have reached the API: if the server is restoring, it did.
            server = self.server()
            if server.get("status") == RESTORING:
                self.result["server"] = server_view(server)
                self.result["restore_started"] = True
                return
            self.fail_api(exc, msg="%s The restore may be under way: check the server's status (GET /servers/%d/) or run "
                          "this task again, which waits for a restore in progress instead of starting another."
                          % (exc.message, self.params["server_id"]))
        raise exc

    def wait_for_restore(self):
        server_id = self.params["server_id"]
        what = "the restore of server %s" % server_id
        try:
            # The API documents no status besides "restoring" for this phase; leaving it ends the wait.
            server = self.client.wait_for(self.server,
                                          lambda s: s.get("status") != RESTORING, self.deadline, what)
        except VpsorgApiError as exc:
            if exc.last_object:
                self.result["server"] = server_view(exc.last_object)
            self.fail_api(exc, msg="%s The restore goes on on the API side; run this task again to keep waiting "
                          "(it will not start a second restore)." % exc.message)
        self.result["server"] = server_view(server)
        if server.get("status") != "running":
            self.fail("The restore of server %s ended with the server %r, not running; check the server in the VPS.org "
                      "panel before using it." % (server_id, server.get("status")))


def main():
    RestoreModule.execute()


if __name__ == "__main__":
    main()
