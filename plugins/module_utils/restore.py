# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The restore engine: check the source, start the restore exactly once, wait for the server.

A restore is the last line of defence (the role's rollback runs it on a
broken host), so it must survive any single fault: a 5xx or a lost answer on
its POST is settled by reading the server, never by giving up nor by
restoring twice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ansible_collections.vpsorg.cloud.plugins.module_utils.base import VpsorgModule
from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.client import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import BACKUP, SNAPSHOT, Lookup, Servers

if TYPE_CHECKING:
    from typing import Any, NoReturn

    from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import Kind
    from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import ApiObject

RESTORING = "restoring"
# Inferred: the statuses from which the API accepts a restore (the simulator's rule too).
RESTORABLE_SERVER_STATUSES = ("running", "stopped")
NOTHING_RESTORED = " Nothing was restored."


def server_view(server: ApiObject) -> dict[str, Any]:
    return {"id": server.get("id"), "name": server.get("name"), "status": server.get("status")}


def source_view(kind: Kind, source: ApiObject) -> dict[str, Any]:
    return {"kind": kind.name, "id": source.get("id"), "name": source.get(kind.key_field),
            "created_at": source.get("created_at")}


class RestoreModule(VpsorgModule):
    argument_spec = dict(
        server_id=dict(type="int", required=True),
        backup_id=dict(type="int"),
        snapshot_id=dict(type="int"),
        snapshot_name=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
        allow_cross_server=dict(type="bool", default=False),
        source_server_id=dict(type="int"),
    )
    mutually_exclusive = [("backup_id", "snapshot_id", "snapshot_name"), ("snapshot_name", "source_server_id")]
    required_one_of = [("backup_id", "snapshot_id", "snapshot_name")]

    def run(self) -> None:
        self.start_deadline(self.params["wait_timeout"])
        self.result["restore_started"] = False
        server = self.read_server()
        kind, source = self.resolve_source()
        self.result["source"] = source_view(kind, source)
        self.result["server"] = server_view(server)
        if server.get("status") == RESTORING:
            self.warn(f"Server {server['id']} is already being restored; no new restore was started.")
        elif self.check_mode:
            self.changed(before={"server": server_view(server)},
                         after={"server": server_view(server), "restored_from": self.result["source"]})
            return
        else:
            self.start_restore(kind, source)
            self.changed(before={"server": server_view(server)},
                         after={"server": self.result["server"], "restored_from": self.result["source"]})
        if self.params["wait"] and not self.check_mode:
            self.wait_for_restore()

    def shape_result(self) -> dict[str, Any]:
        # Failures too: a timed-out or failed restore reports how long it went on.
        self.result["elapsed"] = round(time.monotonic() - self.started, 1)
        return super(RestoreModule, self).shape_result()

    # ------------------------------------------------------------- checks

    def read_server(self) -> ApiObject:
        try:
            return Servers(self.client).get(self.params["server_id"])
        except VpsorgApiError as exc:
            if exc.status == 404:
                self.fail_api(exc, msg=exc.message + NOTHING_RESTORED)
            raise

    def resolve_source(self) -> tuple[Kind, ApiObject]:
        """(kind, source): the source named by the options, checked; fails (sending nothing) when unusable."""
        params = self.params
        if params["backup_id"] is not None:
            kind, wanted = BACKUP, params["backup_id"]
        else:
            kind, wanted = SNAPSHOT, params["snapshot_id"]
        lookup = Lookup(self.client, kind)
        if wanted is None:
            source = self.snapshot_by_name(lookup)
        elif params["source_server_id"] is not None:
            # The user says where the source lives: only that server's list is read.
            source = lookup.by_id(wanted, params["source_server_id"])
            if source is None:
                self.fail(f"{kind.name.capitalize()} {wanted} does not exist on server {params['source_server_id']} "
                          f"(source_server_id);{NOTHING_RESTORED}")
        else:
            # Most sources belong to the server they restore: look there first, the whole account only if not.
            source = lookup.by_id(wanted, params["server_id"]) or lookup.by_id(wanted)
            if source is None:
                self.fail(f"{kind.name.capitalize()} {wanted} does not exist;{NOTHING_RESTORED}")
        self.check_owner(kind, source)
        if source.get("status") != "completed":
            self.fail(f"{kind.name.capitalize()} {source.get('id')} is {source.get('status')!r}, not completed; only a "
                      f"completed {kind.name} can be restored.{NOTHING_RESTORED}")
        return kind, source

    def snapshot_by_name(self, lookup: Lookup) -> ApiObject:
        server_id, name = self.params["server_id"], self.params["snapshot_name"]
        found = lookup.keyed(lookup.on_server(server_id), name)
        if len(found) > 1:
            self.fail("Server %s has %d snapshots named %r (ids %s); restore by snapshot_id instead;%s"
                      % (server_id, len(found), name, ", ".join(str(s.get("id")) for s in found), NOTHING_RESTORED))
        if not found:
            self.fail(f"Server {server_id} has no snapshot named {name!r};{NOTHING_RESTORED}")
        return found[0]

    def check_owner(self, kind: Kind, source: ApiObject) -> None:
        owner, target = server_id_of(source), self.params["server_id"]
        if owner == target:
            return
        if kind.own_server_only:
            self.fail(f"{kind.name.capitalize()} {source.get('id')} belongs to server {owner}, and a {kind.name} only "
                      f"restores its own server; nothing was restored on server {target}.")
        if not self.params["allow_cross_server"]:
            self.fail(f"{kind.name.capitalize()} {source.get('id')} belongs to server {owner}, not to server {target}; "
                      f"restoring it would overwrite server {target} with another server's data. Set "
                      f"allow_cross_server=true if that is what you want.{NOTHING_RESTORED}")

    # ------------------------------------------------------------- actions

    def start_restore(self, kind: Kind, source: ApiObject) -> None:
        path, body = kind.restore(source, self.params["server_id"])
        try:
            answer = self.client.post_once(path, body, lambda: self.restore_under_way(kind, source))
        except VpsorgApiError as exc:
            self.explain_failed_start(exc)
        self.result["restore_started"] = True
        if isinstance(answer, dict) and isinstance(answer.get("server"), dict):
            self.result["server"] = server_view(answer["server"])

    def restore_under_way(self, kind: Kind, source: ApiObject) -> dict[str, ApiObject] | None:
        """After a restore POST in doubt: the server if it is restoring; None when sending again is safe.

        Sending again is safe when the server is not restoring and the source
        still exists and is completed. Inferred: a restore that was carried
        out and already ended cannot be told apart from one never received;
        it is then sent again, which restores the same source once more.
        """
        server = self.read_server()
        if server.get("status") == RESTORING:
            return {"server": server}
        self.resolve_source()
        return None

    def explain_failed_start(self, exc: VpsorgApiError) -> NoReturn:
        """Fail with what the API's refusal means; decided from status codes and a fresh read of the server."""
        if exc.maybe_committed:
            self.fail_api(exc, msg=f"{exc.message} The restore may be under way: check the server's status or run this "
                          "task again, which waits for a restore in progress instead of starting another.")
        if exc.status is not None and 400 <= exc.status < 500 and exc.status != 404:
            status = self.read_server().get("status")
            if status not in RESTORABLE_SERVER_STATUSES:
                self.fail_api(exc, msg=f"{exc.message} The server's status is {status!r}; a restore needs it "
                              f"running or stopped.{NOTHING_RESTORED}")
        raise exc

    def wait_for_restore(self) -> None:
        server_id = self.params["server_id"]
        try:
            # The API documents no status besides "restoring" for this phase; leaving it ends the wait.
            server = self.client.wait_for(lambda: Servers(self.client).get(server_id),
                                          lambda s: s.get("status") != RESTORING, self.deadline,
                                          f"the restore of server {server_id}")
        except VpsorgApiError as exc:
            if exc.last_object:
                self.result["server"] = server_view(exc.last_object)
            self.fail_api(exc, msg=f"{exc.message} The restore goes on on the API side; run this task again to keep "
                          "waiting (it will not start a second restore).")
        self.result["server"] = server_view(server)
        if server.get("status") != "running":
            self.fail(f"The restore of server {server_id} ended with the server {server.get('status')!r}, not running; "
                      "check the server in the VPS.org panel before using it.")
