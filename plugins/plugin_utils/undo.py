# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Undo a run of the role patch_with_rollback: the decisions of the playbook vpsorg.cloud.rollback_run.

The playbook plans once over every host of the pattern (``plan``), refuses the
whole undo before any change when the plan has a refusal, then restores in
waves (``wave``: the canary rule of the role, no host may fail) and records each
host (``record``). The records go into the role's fact and report, so the
report, its page, the AWX artifacts and the final check are the role's own.

A host is undone when its server is restored from the run's pre-patch
snapshot and the host passes the role's verification; then the host's record
of finished runs (its state folder, on its disk) names the snapshot with the
status ``undone``, which makes a second undo of the same run a no-op for it.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Mapping

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import created_epoch, created_key, given_server_id, server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import COMPLETED
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.patch_with_rollback import earlier_records

# What the host's record of finished runs says of a snapshot it was undone to.
UNDONE = "undone"
# What undo.yml leaves on each host: its record, and its restore's registered result (rollback.yml).
# The server statuses the API restores from (a restore stops a running server first).
RESTORABLE = ("running", "stopped")
RUN_ID = re.compile(r"^[A-Za-z0-9_-]+$")


def input_problem(run_id: Any, pattern: Any, matched: list[str]) -> str | None:
    """Why the undo cannot even be planned: no run id, a run id no snapshot can have, or a pattern matching no host."""
    if not run_id or not RUN_ID.match(str(run_id)):
        return ("rollback_run_id must be the id of the run to undo (letters, digits, - and _, as in its report's run_id "
                "and its snapshots' names), not %r." % (run_id,))
    if not pattern or not matched:
        return ("The host pattern %r (rollback_run_hosts) matches no host of the inventory: name the hosts or groups "
                "to put back, for example web-01:web-02 or web." % (pattern,))
    return None


def host_record(probe: Mapping) -> tuple[str, dict | None]:
    """What the host's record of the run's snapshot says: ("found", record), ("absent", None), or ("unreadable", None)
    when the host did not answer, the read failed, or what came back holds no record (a shell may print more: the
    record is the JSON object in it)."""
    if not probe or probe.get("unreachable") or probe.get("failed"):
        return "unreadable", None
    text = str(probe.get("stdout") or "")
    if not text.strip():
        return "absent", None
    try:
        record = json.loads(text[text.index("{"):text.rindex("}") + 1])
    except ValueError:
        return "unreadable", None
    return ("found", record) if isinstance(record, dict) else ("unreadable", None)


def _evidence_problem(host: str, name: str, state: str, record: dict | None) -> str | None:
    """Why the host's record does not prove the run left it patched from snapshot ``name`` (None: it does)."""
    named = state == "found" and record.get("snapshot_name") == name
    if named and record.get("status") == "patched":
        return None
    if state == "unreadable":
        why = "its record of finished runs could not be read (the host did not answer, or the read failed)"
    elif not named:
        why = ("its record of finished runs does not name snapshot %s: the run did not leave it patched (rolled back, "
               "refused or interrupted), or it was restored since" % name)
    else:
        why = "its record of finished runs says %s, not patched, for snapshot %s" % (record.get("status"), name)
    return ("%s: %s, so restoring it could undo something else. Leave it out of rollback_run_hosts, or list it in "
            "rollback_run_force_hosts to restore it anyway." % (host, why))


def _newer_problem(host: str, server_id: int, snapshot: Mapping, snapshots: list[Mapping], prefix: str) -> str | None:
    """Why restoring ``snapshot`` would also undo later runs of the role on the server (None: it would not)."""
    others = [s for s in snapshots if server_id_of(s) == server_id and s.get("id") != snapshot.get("id")
              and str(s.get("name") or "").startswith(prefix)]
    # Whatever their status (a run under way); where a time cannot be read, the order cannot be known: count it later.
    if created_epoch(snapshot) is None:
        newer = others
        when = "which may be later than snapshot %s (its creation time cannot be read)" % snapshot.get("name")
    else:
        newer = [s for s in others if created_epoch(s) is None or created_key(s) > created_key(snapshot)]
        when = "taken after snapshot %s%s" % (snapshot.get("name"), " (or at a time that cannot be read)" if any(
            created_epoch(s) is None for s in newer) else "")
    if not newer:
        return None
    return ("%s: server %s has %s, %s: restoring it would also undo %s. Undo the newest run first."
            % (host, server_id, ", ".join(str(s.get("name")) for s in newer), when,
               "that later run" if len(newer) == 1 else "those later runs"))


def _snapshot_view(snapshot: Mapping) -> dict:
    return {"id": snapshot.get("id"), "name": snapshot.get("name"), "created_at": snapshot.get("created_at")}


def _refused(entry: dict, reason: str) -> dict:
    return dict(entry, action="refused", reason=reason)


def plan_host(host: str, server_id: int | None, snapshots: list[Mapping], probe: Mapping, server_status: str | None,
              name: str, prefix: str, forced: bool = False) -> dict:
    """One host's part of the undo: restore, already_undone, left_alone, or refused (with why).

    A host is restored only on positive evidence: its own record of finished runs says the run left it patched from
    exactly this snapshot (or the operator forces it), the snapshot is the only one of its name on the server and no
    later run of the role took one there since.
    """
    entry: dict[str, Any] = {"server_id": server_id, "snapshot": None, "server_status": server_status}
    if server_id is None:
        return _refused(entry, "%s has no VPS.org server id (vpsorg_server_id)." % host)
    state, record = host_record(probe)
    if state == "found" and record.get("status") == UNDONE and record.get("snapshot_name") == name:
        return dict(entry, action="already_undone",
                    reason="An earlier undo restored %s from snapshot %s and verified it; nothing to do." % (host, name))
    mine = [s for s in snapshots if server_id_of(s) == server_id and s.get("name") == name]
    if len(mine) != 1:
        return _refused(entry, ("%s: server %s has %d snapshots named %s; which one the run took cannot be told." % (
            host, server_id, len(mine), name)) if mine else ("%s: server %s has no snapshot %s: it was deleted, or "
                                                             "the run never took one there." % (host, server_id, name)))
    snapshot = mine[0]
    entry["snapshot"] = _snapshot_view(snapshot)
    problem = (("%s: snapshot %s (id %s) is %s, not completed." % (host, name, snapshot.get("id"), snapshot.get("status"))
                if snapshot.get("status") != COMPLETED else None)
               or _newer_problem(host, server_id, snapshot, snapshots, prefix)
               or (None if forced else _evidence_problem(host, name, state, record)))
    if problem:
        return _refused(entry, problem)
    if server_status not in RESTORABLE:
        return dict(entry, action="left_alone", reason="Left alone: server %s is %s; the API restores a server that is "
                                                       "running or stopped." % (server_id, server_status or "unreadable"))
    return dict(entry, action="restore", reason=None)


def _shared(servers: Mapping[str, int | None]) -> dict[str, list[str]]:
    """The hosts of the undo that name a server another of its hosts names too: one restore would undo both."""
    by_server: dict[int, list[str]] = {}
    for host, server_id in servers.items():
        if server_id is not None:
            by_server.setdefault(server_id, []).append(host)
    return {host: sorted(hosts) for hosts in by_server.values() if len(hosts) > 1 for host in hosts}


def plan(run_id: str, prefix: str, servers: Mapping[str, Any], listing: Mapping, probes: Mapping[str, Mapping],
         server_reads: Mapping, forced: list[str] | None = None) -> dict:
    """The undo of run ``run_id`` over ``servers`` (host: its server id as given), from one listing of the account's
    snapshots: every host's part, and the refusals, each of which refuses the whole undo before anything is done.
    ``forced``: hosts restored without their record's evidence (rollback_run_force_hosts)."""
    name = prefix + str(run_id)
    if listing.get("failed") or "snapshots" not in listing:
        return {"run_id": str(run_id), "snapshot_name": name, "hosts": {}, "refusals": [
            "The account's snapshots could not be listed: %s" % str(listing.get("msg") or "no listing").strip()]}
    snapshots = list(listing["snapshots"])
    statuses = {}
    for item in server_reads.get("results") or []:
        statuses[given_server_id(item.get("item"))] = (item.get("server") or {}).get("status")
    ids = {host: given_server_id(given) for host, given in servers.items()}
    shared = _shared(ids)
    hosts = {}
    for host in sorted(servers):
        if host in shared:
            hosts[host] = _refused({"server_id": ids[host], "snapshot": None, "server_status": statuses.get(ids[host])},
                                   "%s: server %s is also %s's; one restore would undo every host on it. List each "
                                   "server once." % (host, ids[host], ", ".join(h for h in shared[host] if h != host)))
            continue
        hosts[host] = plan_host(host, ids[host], snapshots, probes.get(host) or {}, statuses.get(ids[host]), name, prefix,
                                host in (forced or []))
    refusals = [entry["reason"] for entry in hosts.values() if entry["action"] == "refused"]
    strangers = sorted(set(forced or []) - set(servers))
    if strangers:
        # A misspelt name would quietly force nothing, and the host meant would be refused for want of a record.
        refusals.append("rollback_run_force_hosts names %s, not a host of this undo (rollback_run_hosts): check the "
                        "spelling, or add the host to the pattern." % ", ".join(strangers))
    if not any(s.get("name") == name for s in snapshots) and not any(
            entry["action"] == "already_undone" for entry in hosts.values()):
        refusals.insert(0, "Run %s is unknown: no snapshot of the account is named %s, and no host says an undo of it "
                           "already happened. Check rollback_run_id against the run's report (run_id)." % (run_id, name))
    return {"run_id": str(run_id), "snapshot_name": name, "hosts": hosts, "refusals": refusals}


def servers_to_read(servers: Mapping[str, Any]) -> list[int]:
    """The servers whose status the plan needs: one read each."""
    return sorted(set(number for number in (given_server_id(v) for v in servers.values()) if number is not None))


# The statuses of a host whose undo was tried and failed: the next waves do not start (the canary rule, none may fail).
FAILED_UNDO = ("undo_failed", "undo_unhealthy", "not_started")


def gate(earlier: list[dict]) -> str | None:
    """Why this wave must not start (None: it may): a host of an earlier wave whose restore failed or was not started.
    A host left alone (its server could not be restored) was not tried, so it stops nothing."""
    bad = [r for r in earlier if r.get("status") in FAILED_UNDO]
    if not bad:
        return None
    return ("Not started: the undo of %s failed in an earlier wave (%s), so later waves were not started." % (
        ", ".join(r.get("host", "?") for r in bad), ", ".join(sorted(set(r["status"] for r in bad)))))


def wave(hostvars: Mapping, all_hosts: list[str], batch: list[str], undo_plan: Mapping, check_mode: bool,
         now: float | None = None) -> dict:
    """This batch as a wave of the undo: its number, and the hosts it restores (none once an earlier wave failed)."""
    earlier = earlier_records(hostvars, all_hosts, batch)
    stop = None if check_mode else gate(earlier)
    number = max([r["wave"] for r in earlier if r.get("wave") is not None] or [0]) + 1
    acts = {host: undo_plan["hosts"][host]["action"] for host in batch}
    restoring = [] if stop or check_mode else sorted(h for h, action in acts.items() if action == "restore")
    return {"number": number, "stop": stop, "started_at": time.time() if now is None else now,
            "dry_run": bool(check_mode), "batch": sorted(batch), "restoring": restoring}


def _outcome_status(outcome: Mapping) -> str:
    return {"rolled_back": "undone", "restored_unhealthy": "undo_unhealthy"}.get(outcome.get("status"), "undo_failed")


def record(host: str, undo_plan: Mapping, this_wave: Mapping, outcome: Mapping | None, forgotten: Mapping,
           inventory_args: str = "") -> dict:
    """The host's record of the undo: the role's record fields, with the undo's statuses (plugin_utils/statuses.py).
    ``finish`` adds what the wave's last steps did (the record on the host, the snapshot's deletion)."""
    entry = undo_plan["hosts"][host]
    snapshot = entry.get("snapshot") or {}
    base = {"host": host, "run_id": undo_plan["run_id"], "undo": True, "dry_run": this_wave["dry_run"],
            "wave": this_wave["number"], "started_at": this_wave["started_at"], "server_id": entry["server_id"],
            "snapshot_id": snapshot.get("id"), "snapshot_name": undo_plan["snapshot_name"],
            "snapshot_kept": bool(snapshot), "cause": None, "manual_step": None}
    action = entry["action"]
    if action != "restore":
        status = "already_undone" if action == "already_undone" else "left_alone"
        return dict(base, status=status, message=entry["reason"], cause=None if status == "already_undone"
                    else entry["reason"], server_status=entry["server_status"])
    if this_wave["stop"]:
        return dict(base, status="not_started", message=this_wave["stop"], cause=this_wave["stop"])
    if this_wave["dry_run"]:
        return dict(base, status="would_undo", message="Dry run: would restore server %s from snapshot %s (id %s)." % (
            entry["server_id"], undo_plan["snapshot_name"], snapshot.get("id")))
    restored = _restored(base, host, snapshot, outcome or {}, inventory_args)
    if restored["status"] != "undone" and (forgotten.get("failed") or forgotten.get("unreachable")):
        restored["message"] += (" Its record of finished runs could not be changed (%s) and may still say the run "
                                "needed no rollback: the role would then take this snapshot as resolved." % (
                                    str(forgotten.get("msg") or "unreachable").strip()))
    return restored


def _restored(base: dict, host: str, snapshot: Mapping, outcome: Mapping, inventory_args: str) -> dict:
    status = _outcome_status(outcome)
    done = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(outcome["at"])) if outcome.get("at") else None
    seconds = round(outcome["at"] - base["started_at"], 1) if outcome.get("at") else None
    described = "snapshot %s (id %s)" % (base["snapshot_name"], snapshot.get("id"))
    result = dict(base, status=status, ended_at=done, durations={"rollback": seconds, "total": seconds})
    if status == "undone":
        return dict(result, message="Restored from %s and verified." % described)
    error = outcome.get("error") or "failed"
    restore = ("ansible-playbook %s vpsorg.cloud.restore -e target=%s -e snapshot_id=%s" % (
        inventory_args, host, snapshot.get("id"))).replace("  ", " ")
    if status == "undo_unhealthy":
        return dict(result, cause=error, message="Restored from %s, but the host did not pass the checks afterwards "
                                                 "(%s). Do not restore again: the disk is that snapshot now. The "
                                                 "snapshot is kept." % (described, error),
                    manual_step="Look at %s from the provider's console; once it is healthy, mark it resolved for the "
                                "role (patch_with_rollback_resolved_hosts)." % host)
    return dict(result, cause=error, server_status=outcome.get("server_status"),
                message="The restore from %s failed: %s. The snapshot is kept, and the role refuses the host until it "
                        "is marked resolved." % (described, error), manual_step=restore)


def gathered(undo_plan: Mapping, this_wave: Mapping, found: Mapping[str, Any],
             restores: Mapping[str, Any] | None = None) -> dict[str, dict]:
    """Every host of the wave's record. A host that left the play (a task failed it outright) has none of its own; if
    it was being restored, its restore's own result (``restores``) says whether the disk is back: then it is not to be
    restored again (undo_unhealthy: not verified), else the undo failed and nobody knows how far it went."""
    records = {}
    for host in this_wave["batch"]:
        entry = found.get(host)
        if not isinstance(entry, Mapping):
            entry = record(host, undo_plan, this_wave, {}, {})
            if host in this_wave["restoring"]:
                entry.update(_left_the_play(host, (restores or {}).get(host)))
        records[host] = dict(entry)
    return records


def _left_the_play(host: str, restore: Any) -> dict:
    """The record of a host a task failed outright during its undo, from what its restore returned (if it ran)."""
    if isinstance(restore, Mapping) and restore and not (restore.get("failed") or restore.get("unreachable")
                                                         or restore.get("skipped")):
        cause = "The host left the play after its server was restored, before it was verified."
        return {"status": "undo_unhealthy", "cause": cause, "manual_step": "Look at %s from the provider's console; "
                "do not restore again: the disk is the snapshot now." % host,
                "message": cause + " Do not restore again: the disk is the snapshot now."}
    cause = "The host left the play during its undo (a task failed it outright); whether its server was restored is not known."
    return {"status": "undo_failed", "cause": cause, "manual_step": "Look at %s and its server's status before anything "
            "else; restore by hand only if its disk is not the snapshot's." % host,
            "message": cause + " Look at it before anything else."}


def ledger_targets(records: Mapping[str, Mapping]) -> list[dict]:
    """The hosts whose record of finished runs is to name the snapshot ``undone``: the restored and verified ones.
    The entries of the role's ledger (tasks/ledger.yml)."""
    return [{"host": host, "name": record["snapshot_name"], "status": UNDONE}
            for host, record in sorted(records.items()) if record["status"] == "undone"]


def _written(ledger_result: Mapping) -> dict[str, dict]:
    """Per host, whether the ledger's loop recorded the undo on it, and why not."""
    written = {}
    for item in ledger_result.get("results") or []:
        host = (item.get("item") or {}).get("host")
        if item.get("failed") or item.get("unreachable"):
            written[host] = {"ok": False, "error": str(item.get("msg") or "unreachable").strip()}
        elif not item.get("skipped"):
            written[host] = {"ok": True, "error": None}
    return written


def cleanup_servers(records: Mapping[str, Mapping], ledger_result: Mapping) -> list[int]:
    """The servers whose snapshot goes once their host is undone: only where the host keeps the record of it, without
    which a second undo could not tell that the host was undone (and would find no snapshot to restore from)."""
    written = _written(ledger_result)
    return sorted(record["server_id"] for host, record in records.items()
                  if record["status"] == "undone" and written.get(host, {}).get("ok"))


def finish(records: Mapping[str, Mapping], ledger_result: Mapping, cleanup: Mapping) -> dict[str, dict]:
    """The wave's records with what its last steps did: the undo recorded on each host, the snapshots deleted."""
    written = _written(ledger_result)
    deleted = set(s.get("id") for entry in cleanup.get("results") or [] for s in entry.get("deleted_snapshots") or [])
    finished = {}
    for host, record in records.items():
        record = dict(record)
        if record["status"] == "undone":
            record["snapshot_kept"] = record["snapshot_id"] not in deleted
            note = written.get(host) or {"ok": False, "error": "the host was not reached"}
            if not note["ok"]:
                record["message"] += (" Recording the undo on the host failed (%s), so its snapshot is kept and a "
                                      "second undo would restore it again." % note["error"])
        finished[host] = record
    return finished
