# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which held snapshots of the role patch_with_rollback the playbook vpsorg.cloud.prune_holds deletes.

A hold is written into every snapshot of a run with cleanup hold, before the
run knows how each host ends. So a snapshot whose hold has run out is deleted
only when its host's record of finished runs names it (the run left the host
patched, the operator resolved it, or an undo put it back): the snapshot a
rollback kept stays until the host is marked resolved, as the role promises.
"""

from __future__ import annotations

import time
from typing import Any, Mapping

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import given_server_id, newest_first, server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import COMPLETED, held, hold_seconds


def _named(probe: Mapping) -> set[str] | None:
    """The snapshot names the host's record of finished runs holds; None when it could not be read."""
    if not probe or probe.get("unreachable") or probe.get("failed"):
        return None
    return set(line.strip() for line in probe.get("stdout_lines") or [] if line.strip() and "/" not in line)


def _hosts_by_server(servers: Mapping[str, Any]) -> dict[int, list[str]]:
    by_server: dict[int, list[str]] = {}
    for host, given in sorted(servers.items()):
        server_id = given_server_id(given)
        if server_id is not None:
            by_server.setdefault(server_id, []).append(host)
    return by_server


def _verdict(snapshot: Mapping, hosts: list[str], records: Mapping[str, set[str] | None]) -> str | None:
    """Why an expired hold stays (None: it goes): each host of its server must name it in its record."""
    for host in hosts:
        named = records[host]
        if named is None:
            return "%s did not answer, or its record of finished runs could not be read" % host
        if snapshot.get("name") not in named:
            return ("%s's record of finished runs does not name it: the run did not end patched there (rolled back, "
                    "failed or interrupted); mark the host resolved first" % host)
    return None


def expired_holds(snapshots: list[Mapping], prefix: str, servers: Mapping[str, Any], probes: Mapping[str, Mapping],
                  now: float | None = None) -> dict[str, list[dict]]:
    """The held snapshots of ``prefix`` on the servers of ``servers`` (host: its server id) whose hold has run out:
    ``delete`` those every host of their server names in its record of finished runs, ``kept`` the others, with why.
    Snapshots without a hold, under a hold, not completed, or outside the prefix are neither."""
    now = time.time() if now is None else now
    records = {host: _named(probes.get(host) or {}) for host in servers}
    plan: dict[str, list[dict]] = {"delete": [], "kept": []}
    for server_id, hosts in sorted(_hosts_by_server(servers).items()):
        for snapshot in reversed(newest_first(s for s in snapshots if server_id_of(s) == server_id)):
            if not str(snapshot.get("name") or "").startswith(prefix) or snapshot.get("status") != COMPLETED \
                    or hold_seconds(snapshot) is None or held(snapshot, now):
                continue
            entry = {"id": snapshot.get("id"), "name": snapshot.get("name"), "server_id": server_id,
                     "created_at": snapshot.get("created_at"), "hosts": hosts}
            why = _verdict(snapshot, hosts, records)
            if why:
                plan["kept"].append(dict(entry, reason=why))
            else:
                plan["delete"].append(entry)
    return plan
