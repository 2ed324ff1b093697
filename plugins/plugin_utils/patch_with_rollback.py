# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The role patch_with_rollback's decisions and records, as plain functions.

The role's task files only orchestrate: they run the tasks that touch hosts
and the API, and hand what those returned to the filters of
``plugins/filter/patch_with_rollback.py``, which call these functions:

- :func:`plan_wave` - the run id, the wave's number, and the canary gate;
- :func:`judge_preflight` - per host: may it be patched, and if not, why;
- :func:`build_records` - per host: what happened (status, cause, message,
  next step, times), from the results of every phase;
- :func:`build_report` - the run's report and its summary lines.

``hostvars`` (read by :func:`plan_wave` and :func:`build_report` alone, for
the inventory and the records of earlier waves) is anything that maps a host
name to a mapping of its variables (Ansible's ``hostvars`` in the role, plain
dicts in the unit tests); the filters hand it over wrapped in :class:`ReadOnce`.
Every other step is handed what the steps before it returned, as arguments.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Iterator

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import created_epoch, given_server_id, newest_first, server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import (
    COMPLETED,
    held,
    hold_seconds,
    parse_duration,
    plan_rotation,
)
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.patch_steps import cleanup_options
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.statuses import PHASES, STATUSES, ends_failed, settled

SNAPSHOT_LIMIT = 5
UNREACHABLE_FACT = "vpsorg_cloud_unreachable"


class ReadOnce(Mapping):
    """A mapping read at most once per key, the values kept.

    Ansible computes all of a host's variables anew at each ``hostvars[host]``
    and templates a variable anew at each read. The decisions of a wave read
    several variables of every host, several times over: at 20 hosts that
    made one record task cost seconds. Wrapping ``hostvars`` in this (the
    hosts' variables wrapped too) makes each of them cost one read.
    """

    def __init__(self, source: Mapping, depth: int = 1) -> None:
        self._source = source
        self._depth = depth
        self._read = {}

    def __getitem__(self, key: Any) -> Any:
        if key not in self._read:
            value = self._source[key]
            if self._depth > 0 and isinstance(value, Mapping):
                value = ReadOnce(value, self._depth - 1)
            self._read[key] = value
        return self._read[key]

    def __contains__(self, key: object) -> bool:
        return key in self._read or key in self._source

    def __iter__(self) -> Iterator:
        return iter(self._source)

    def __len__(self) -> int:
        return len(self._source)


def _get(mapping: Any, key: Any, default: Any = None) -> Any:
    try:
        value = mapping[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _vars(hostvars: Mapping, host: str) -> Mapping:
    try:
        return hostvars[host]
    except KeyError:
        return {}


def _failed(result: Mapping) -> bool:
    return bool(result.get("failed")) or bool(result.get("unreachable"))


def _text(value: Any, default: str = "failed") -> str:
    text = str(value if value not in (None, "") else default).strip()
    return re.sub(r"\s+", " ", text)


def _round(seconds: Any) -> float | None:
    return None if seconds is None else round(max(0.0, float(seconds)), 1)


# ------------------------------------------------------------------ the wave

def records_of(hostvars: Mapping, hosts: list[str]) -> dict[str, dict]:
    """The records of ``hosts`` so far, by host, reading one host's variables per wave.

    "Record the wave" sets the same fact, the records of the whole wave, on every
    host of the wave: once one host's copy is read, its wave-mates are known.
    Reading every host's own copy would template N records N times over.
    """
    found = {}
    for host in hosts:
        if host in found:
            continue
        records = _get(_vars(hostvars, host), "patch_with_rollback_records", {})
        for name, record in (records.items() if isinstance(records, Mapping) else ()):
            if record:
                found.setdefault(name, record)
    return dict((host, found[host]) for host in hosts if host in found)


def earlier_records(hostvars: Mapping, all_hosts: list[str], batch: list[str]) -> list[dict]:
    """The records of hosts of earlier waves (batches) of this play, in play order."""
    batch = set(batch)
    return list(records_of(hostvars, [host for host in all_hosts if host not in batch]).values())


def run_id_for(given: Any, job_id: Any, earlier: list[dict], now: float | None = None) -> str:
    """One run id for every wave: an earlier wave's, else the one given, else the AWX job's, else a UTC stamp."""
    for record in earlier:
        if record.get("run_id"):
            return record["run_id"]
    text = str(given or job_id or time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now)))
    return re.sub(r"[^A-Za-z0-9_-]", "-", text)


def gate(earlier: list[dict], max_fail_percentage: Any, check_mode: bool) -> str | None:
    """Why this wave must not start (None: it may): the canary rule over the last wave before it."""
    waves = [r for r in earlier if r.get("wave") is not None]
    if check_mode or not waves:
        return None
    if any(r.get("status") == "not_started" for r in waves):
        return "Not started: the run stopped before this host's wave."
    last = max(r["wave"] for r in waves)
    in_last = [r for r in waves if r["wave"] == last]
    bad = [r for r in in_last if not settled(r.get("status"))]
    if len(bad) * 100.0 / len(in_last) > float(max_fail_percentage):
        return ("Not started: in wave %s, %d of %d hosts did not end patched (%s), more than the %s%% allowed "
                "(patch_with_rollback_max_fail_percentage); later waves were not started." % (
                    last, len(bad), len(in_last), ", ".join(r.get("host", "?") for r in bad), max_fail_percentage))
    return None


def refused_settings(settings: dict) -> str | None:
    """Why no host may start because of the run's own settings (None: they are fine)."""
    value = settings.get("max_fail_percentage", 0)
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if isinstance(value, bool) or number is None or not 0 <= number <= 100:
        return ("Not started: patch_with_rollback_max_fail_percentage must be a number from 0 to 100 (the share of a "
                "wave that may fail before later waves are stopped), not %r." % (value,))
    if settings.get("cleanup") == "hold" and not settings.get("snapshot_only") and hold_of(settings) is None:
        return ("Not started: patch_with_rollback_cleanup is hold, so patch_with_rollback_hold must say for how long "
                "(a number and a unit: s, m, h, d or w, for example 24h or 3d), not %r." % (settings.get("hold"),))
    return None


def hold_of(settings: dict) -> int | None:
    """The hold of cleanup hold, in seconds (None: no hold, or one that cannot be read). A snapshot_only run takes no
    hold: nothing is verified, and its snapshots are the operator's, for the operator to delete."""
    if settings.get("cleanup") != "hold" or settings.get("snapshot_only"):
        return None
    try:
        return parse_duration(settings.get("hold"))
    except ValueError:
        return None


def plan_wave(hostvars: Mapping, all_hosts: list[str], batch: list[str], settings: dict, now: float | None = None) -> dict:
    """The wave this batch is: run id, number, and per host whether it starts, its server and its record so far."""
    now = time.time() if now is None else now
    earlier = earlier_records(hostvars, all_hosts, batch)
    stop = refused_settings(settings) or gate(earlier, settings.get("max_fail_percentage", 0), settings.get("check_mode"))
    hosts = {}
    for host in batch:
        host_vars = _vars(hostvars, host)
        server = _get(host_vars, settings.get("server_id_var", "vpsorg_server_id"))
        unreachable = _get(host_vars, UNREACHABLE_FACT)
        hosts[host] = {
            "server_id": given_server_id(server),
            "server_id_given": server,
            "starts": stop is None,
            # None: the play keeps no record of unreachable tasks (not the collection's strategy).
            "unreachable_seen": None if unreachable is None else len(unreachable),
        }
    run_id = run_id_for(settings.get("run_id"), settings.get("job_id"), earlier, now)
    wave = {
        "shared_servers": shared_servers(hostvars, all_hosts, settings.get("server_id_var", "vpsorg_server_id")),
        "run_id": run_id,
        "number": max([r["wave"] for r in earlier if r.get("wave") is not None] or [0]) + 1,
        "started_at": now,
        "dry_run": bool(settings.get("check_mode")),
        "snapshot_only": bool(settings.get("snapshot_only")),
        # Written into each snapshot's description: rotation leaves it alone until the hold runs out.
        "hold_seconds": hold_of(settings),
        # What the clean-up of the verified hosts deletes (finish.yml): {} when it deletes nothing.
        "cleanup": cleanup_options(settings.get("cleanup", "delete"), settings.get("prefix", "") + run_id,
                                   settings.get("prefix", ""), int(settings.get("cleanup_keep", 1))),
        "stop": stop,
        "hosts": hosts,
    }
    # A list beside hosts[...]["starts"]: it spares each host's condition a walk over the wave.
    wave["starting"] = sorted(host for host, entry in hosts.items() if entry["starts"])
    return wave


def shared_servers(hostvars: Mapping, all_hosts: list[str], server_id_var: str) -> dict[str, list[str]]:
    """The servers that more than one host of the play names, each with its hosts in play order.

    A snapshot and a restore act on the whole server: one host's clean-up would
    delete the snapshot another host's rollback needs, and one host's rollback
    would undo another's verified patch. Every host of the play counts, not only
    the wave's, so that hosts that serial puts in different waves are seen too.
    """
    by_server = {}
    for host in all_hosts:
        server_id = given_server_id(_get(_vars(hostvars, host), server_id_var))
        if server_id is not None:
            by_server.setdefault(str(server_id), []).append(host)
    # Keyed by the id as text: the wave is a fact, and a fact's keys are text once it is written out as JSON.
    return dict((server_id, hosts) for server_id, hosts in by_server.items() if len(hosts) > 1)


def shared_server_problem(host: str, server_id: int | None, sharing: list[str] | None, server_id_var: str) -> str | None:
    """Why a host that shares its server with other hosts of the play is refused (None: it does not share)."""
    if not sharing or host not in sharing:
        return None
    return ("Refused: hosts %s all name server %s (%s), and the role snapshots and restores whole servers: one host's "
            "clean-up would delete the snapshot another's rollback needs, or one host's rollback would undo another's "
            "patch. None of them is patched, and nothing was done. List each server once in the play (one inventory "
            "host per server, for example with --limit), and patch everything that runs on it from that host." % (
                ", ".join(sharing), server_id, server_id_var))


# ------------------------------------------------------------- the preflight

def report_folder_problem(report_file: str) -> str | None:
    """Why the report could not be written to ``report_file`` (None: it can), looked at on the controller."""
    folder = os.path.dirname(report_file) or "."
    if not os.path.exists(folder):
        why = "the folder %s does not exist." % folder
    elif not os.path.isdir(folder):
        why = "%s is not a folder." % folder
    elif not os.access(folder, os.W_OK | os.X_OK) or (os.path.exists(report_file) and not os.access(report_file, os.W_OK)):
        why = "the folder %s is not writable." % folder
    else:
        return None
    return ("The report cannot be written to %s: %s Set patch_with_rollback_report_path to a file in a folder that "
            "exists." % (report_file, why))


def _probe_lines(probe: Mapping) -> list[str]:
    return [line.strip() for line in probe.get("stdout_lines") or [] if line.strip()]


def _ledger_names(probe: Mapping) -> set[str]:
    # A file name holds no "/"; the probe's paths (package_managers) all begin with one.
    return set(line for line in _probe_lines(probe) if "/" not in line)


def package_managers(probe: Mapping, files: list[str]) -> list[str]:
    """Which of ``files``, the package managers the built-in patch can use, the probe found on the host."""
    found = set(_probe_lines(probe))
    return [path for path in files if path in found]


def _resolve_step(settings: dict, host: str) -> str:
    return ("ansible-playbook %s vpsorg.cloud.patch_with_rollback --limit %s -e '{\"patch_with_rollback_resolved_hosts\": "
            "[\"%s\"]}'" % (settings.get("inventory_args", ""), host, host)).replace("  ", " ")


def _restore_step(settings: dict, host: str, snapshot_id: Any) -> str:
    return ("ansible-playbook %s vpsorg.cloud.restore -e target=%s -e snapshot_id=%s" % (
        settings.get("inventory_args", ""), host, snapshot_id)).replace("  ", " ")


def room_plan(server_snapshots: list[dict], name: str, settings: dict) -> Any:
    """Rotation's plan around the new snapshot, or None when a snapshot of that name is already there (reused)."""
    others = [s for s in server_snapshots if s.get("name") != name]
    if len(others) != len(server_snapshots):
        return None
    prefix = settings["prefix"] if settings.get("rotate") else None
    keep = settings.get("rotate_keep") if settings.get("rotate") else None
    return plan_rotation(others, "name", SNAPSHOT_LIMIT, name, prefix, keep)


def judge_host(host: str, wave: dict, probe: Mapping, snapshots: list[dict], listing_error: str | None,
               server_reads: dict, settings: dict) -> dict:
    """One host's preflight: what was seen, every problem found (in this order), and whether the host may be patched."""
    entry = wave["hosts"][host]
    server_id = entry["server_id"]
    reachable = bool(probe) and not probe.get("unreachable")
    readable = reachable and not probe.get("failed")
    sharing = (wave.get("shared_servers") or {}).get(str(server_id))
    mine = [s for s in snapshots if server_id_of(s) == server_id] if server_id is not None else []
    name = settings["prefix"] + wave["run_id"]
    unresolved = unresolved_snapshots(mine, probe, name, settings["prefix"]) if readable else []
    blocking = [] if host in settings.get("resolved_hosts", []) else unresolved
    planned = not listing_error and not blocking and server_id is not None
    plan = room_plan(mine, name, settings) if planned else None
    server_status, reach = _reach_problems(server_id, reachable, probe, server_reads, settings)
    problems = [problem for problem in [
        _server_id_problem(entry, settings),
        shared_server_problem(host, server_id, sharing, settings.get("server_id_var", "vpsorg_server_id")),
        *reach,
        "The server's snapshots could not be listed: %s" % listing_error if listing_error else None,
        _unresolved_problem(blocking),
        _room_problem(plan, server_id, settings),
        _package_manager_problem(probe, settings) if readable else None,
        settings.get("report_problem"),
        _strategy_problem(entry, settings),
    ] if problem]
    judgement = {
        "passed": not problems, "problems": problems, "shares_server_with": [h for h in sharing or [] if h != host],
        "server_status": server_status, "reachable": reachable, "snapshots": len(mine), "snapshot_limit": SNAPSHOT_LIMIT,
        "room": (plan is None or not plan.blockers) if planned else None,
        "held_snapshots": [s.get("name") for s in mine if held(s, time.time())],
        "rotation_would_delete": [s.get("name") for s in plan.victims] if plan is not None else [],
        "unresolved_snapshots": unresolved, "marked_resolved": [s.get("name") for s in unresolved] if not blocking else [],
    }
    if problems:
        judgement["verdict"] = "unresolved" if blocking else "not_patched"
    if blocking:
        judgement["manual_step"] = "Check %s. If it is fine as it is, say so: %s. To go back to the snapshot instead: %s" % (
            host, _resolve_step(settings, host), _restore_step(settings, host, blocking[-1].get("id")))
    return judgement


def unresolved_snapshots(mine: list, probe: dict, name: str, prefix: str) -> list:
    """The role's completed snapshots of the server, oldest first, that the host's record of finished runs does not
    name: each was left by a run that did not end patched. This run's own snapshot (a re-run) is not one."""
    finished = _ledger_names(probe)
    owned = reversed(newest_first(s for s in mine if str(s.get("name", "")).startswith(prefix)))
    return [s for s in owned if s.get("status") == COMPLETED and s.get("name") not in finished and s.get("name") != name]


def _server_id_problem(entry: dict, settings: dict) -> str | None:
    if entry["server_id"] is not None:
        return None
    return "The host variable %s must hold the id of the host's VPS.org server (a positive integer), not %r." % (
        settings.get("server_id_var", "vpsorg_server_id"), entry["server_id_given"])


def _reach_problems(server_id: int | None, reachable: bool, probe: dict, server_reads: dict,
                    settings: dict) -> tuple[str | None, list[str]]:
    """The server's status (read only for a host that did not answer) and the problems of reaching the host."""
    if reachable:
        if probe.get("failed"):
            return None, ["The host's record of finished runs (%s) could not be read: %s" % (
                settings.get("state_dir"), _text(probe.get("msg")))]
        return None, []
    read = server_reads.get(server_id) or {}
    status = _get(_get(read, "server", {}), "status")
    problems = []
    if read.get("failed"):
        problems.append("Server %s could not be read: %s" % (server_id, _text(read.get("msg"))))
    elif status and status != "running":
        problems.append("Server %s is %s, not running." % (server_id, status))
    problems.append("The host is unreachable through a fresh connection: %s" % _text(probe.get("msg"), "no answer"))
    return status, problems


def _unresolved_problem(blocking: list) -> str | None:
    if not blocking:
        return None
    listed = ", ".join("snapshot %s (id %s, taken %s)" % (s.get("name"), s.get("id"), s.get("created_at"))
                       for s in blocking)
    return ("Refused: %s %s left by an earlier run of this role that did not end patched (rolled back, failed or "
            "interrupted); this host is not patched again until you say it is resolved." % (
                listed, "is" if len(blocking) == 1 else "are"))


def _room_problem(plan: Any, server_id: int | None, settings: dict) -> str | None:
    if plan is None or not plan.blockers:
        return None
    holding = [s for s in newest_first(plan.blockers) if held(s, time.time())]
    if holding:
        return ("No room for the snapshot: server %s already has %d snapshots, the most the API allows (%s); %s %s "
                "under the hold of an earlier run, which no rotation deletes. Wait until the hold runs out, undo that "
                "run (which deletes the snapshots it puts back), or delete a snapshot by hand." % (
                    server_id, len(plan.blockers), ", ".join(str(s.get("name")) for s in newest_first(plan.blockers)),
                    ", ".join(str(s.get("name")) for s in holding), "is" if len(holding) == 1 else "are"))
    return ("No room for the snapshot: server %s already has %d snapshots, the most the API allows (%s); none of them "
            "is the role's to rotate%s. Delete one, or let rotation (patch_with_rollback_rotate) make room." % (
                server_id, len(plan.blockers), ", ".join(str(s.get("name")) for s in newest_first(plan.blockers)),
                "" if settings.get("rotate") else " (rotation is off)"))


def _package_manager_problem(probe: dict, settings: dict) -> str | None:
    files = settings.get("package_manager_files") or []
    if not files or package_managers(probe, files):
        return None
    return ("The built-in patch upgrades with apt, dnf or yum, and the host has none of them (no %s or %s). Set "
            "patch_with_rollback_patch_tasks to a tasks file of your own that patches it." % (
                ", ".join(files[:-1]), files[-1]))


def _strategy_problem(entry: dict, settings: dict) -> str | None:
    if entry["unreachable_seen"] is not None or settings.get("snapshot_only"):
        return None
    return ("The play's strategy keeps no record of tasks that could not reach the host, so the role could not tell a "
            "patch cut short by a host that went away from a complete one. Set strategy: vpsorg.cloud.linear (or "
            "vpsorg.cloud.free) on the play, as the playbook vpsorg.cloud.patch_with_rollback does.")


def probe_of(probes: Mapping[str, Any], host: str) -> Mapping:
    """The probe's registered result for a starting host. Every starting host runs the probe, so a missing one is a
    role that handed the wrong results on: an error, never read as "the host did not answer"."""
    try:
        probe = probes[host]
    except KeyError:
        raise ValueError("The preflight was handed no probe result for %s: every starting host's is needed." % host)
    return probe if isinstance(probe, Mapping) else {}


def judge_preflight(wave: dict, probes: Mapping[str, Any], listing: Mapping, server_reads: Mapping[Any, Mapping],
                    settings: dict) -> dict[str, dict]:
    """Every starting host's preflight, from its probe, one listing of the account's snapshots, and a read of each
    server whose host did not answer (by server id)."""
    listing_error = _text(listing.get("msg")) if _failed(listing) else None
    snapshots = listing.get("snapshots") or []
    return dict((host, judge_host(host, wave, probe_of(probes, host), snapshots, listing_error, dict(server_reads),
                                  settings))
                for host in wave["starting"])


def unreachable_servers(wave: dict, probes: Mapping[str, Any]) -> list[int]:
    """The servers of starting hosts that the probe could not reach: they are read, to say why."""
    return sorted(set(wave["hosts"][host]["server_id"] for host in wave["starting"]
                      if wave["hosts"][host]["server_id"] is not None and probe_of(probes, host).get("unreachable")))


def listing_scope(wave: dict) -> int | None:
    """The server whose snapshots the preflight lists: the only starting host's; None (the whole account, one
    listing for every server) for more."""
    starting = wave["starting"]
    return wave["hosts"][starting[0]]["server_id"] if len(starting) == 1 else None


def passed(preflight: dict[str, dict]) -> list[str]:
    return sorted(host for host, judgement in preflight.items() if judgement["passed"])


def ledger_entries(preflight: dict[str, dict]) -> list[dict]:
    """What the hosts' records of finished runs get before the snapshot: the earlier runs the operator resolved."""
    return [{"host": host, "name": name, "status": "resolved"}
            for host, judgement in sorted(preflight.items()) if judgement["passed"]
            for name in judgement["marked_resolved"]]


# ------------------------------------------------------------- the snapshot

def snapshot_results(snapshots_result: Mapping) -> dict[Any, dict]:
    """Per server id, its entry of the fleet snapshot task (server_ids), and the task's own failure message."""
    by_server = {}
    for entry in snapshots_result.get("results") or []:
        by_server[entry.get("server_id")] = entry
    return by_server


def quiescing(wave: dict, preflight: dict[str, dict]) -> list[str]:
    """The hosts that go on to the quiesce and the snapshot: preflight passed. None in a dry run."""
    return [] if wave["dry_run"] else passed(preflight)


def snapshot_takers(wave: dict, preflight: dict[str, dict], quiesce_failures: Mapping[str, Any],
                    records: Mapping[str, Any]) -> list[str]:
    """The hosts whose snapshot is taken: quiescing, the quiesce ended well, and no task since the wave began failed
    to reach the host (``records``: each host's record of unreachable tasks, now)."""
    return [host for host in quiescing(wave, preflight)
            if not quiesce_failures.get(host) and not lost_since(records.get(host), wave["hosts"][host]["unreachable_seen"])]


def lost_since(record: list[dict] | None, seen: int | None, end: int | None = None) -> list[dict]:
    """The entries of a host's record of unreachable tasks past the length it had at the wave's start (``seen``; None:
    the play keeps no record) and before ``end`` (None: up to now)."""
    return list((record or [])[seen:end]) if seen is not None else []


def missed_between(record: list[dict] | None, start: Any, end: Any) -> list[dict]:
    """The entries of a host's record of unreachable tasks added between two of its lengths (none if either is unknown)."""
    if start is None or end is None:
        return []
    return list((record or [])[int(start):int(end)])


def missed_by_host(records: Mapping[str, Any], seen: Mapping[str, Any]) -> dict[str, list[dict]]:
    """For each host of the wave, the tasks of its patch that could not reach it: its record of unreachable tasks
    (``records``, now, at the patch's end) past its length at the patch's start (``seen``; unknown: none)."""
    return dict((host, missed_between(records.get(host), start, len(records.get(host) or [])))
                for host, start in seen.items())


def failure_of(kept: Mapping | None, missed: list[dict], patch_mark: Any) -> Mapping | None:
    """What failed the host's patch or verification: the rescue's record (``kept``), or a patch cut short (``missed``:
    the tasks of its patch that could not reach it); None if nothing."""
    if kept:
        return kept
    if missed:
        return {"phase": "patch", "cause": incomplete_cause(missed), "unreachable_tasks": [m.get("task") for m in missed],
                "at": patch_mark}
    return None


def untroubled(patching: list[str], failures: Mapping[str, Any], missed: Mapping[str, list]) -> list[str]:
    """The hosts of ``patching`` that nothing failed and no task of the patch missed, sorted."""
    return sorted(host for host in patching if not failures.get(host) and not missed.get(host))


def patch_end(patching: list[str], failures: Mapping[str, Any], records: Mapping[str, Any],
              seen: Mapping[str, Any]) -> dict[str, Any]:
    """At the end of the patch: the tasks of each host's patch that could not reach it (``missed``, see
    missed_by_host), and the hosts to verify (``verify``): patched, with nothing failed and nothing missed."""
    missed = missed_by_host(records, seen)
    return {"missed": missed, "verify": untroubled(patching, failures, missed)}


def verified_hosts(patching: list[str], failures: Mapping[str, Any], missed: Mapping[str, list],
                   connections: Mapping[str, Any]) -> list[str]:
    """The hosts patched and verified: nothing failed, no task of the patch missed them, and the fresh connection at
    the end of the checks was made (``connections``: each host's registered result of it)."""
    return [host for host in untroubled(patching, failures, missed) if connected(connections.get(host))]


def connected(result: Any) -> bool:
    """Whether the fresh connection at the end of a host's checks was made (its registered result)."""
    return isinstance(result, Mapping) and bool(result) and not _failed(result) and not result.get("skipped")


def snapshot_of(host: str, wave: dict, by_server: dict[Any, dict]) -> dict | None:
    """The host's snapshot (the API's object) when the fleet task made or found it completed, else None."""
    entry = by_server.get(wave["hosts"][host]["server_id"]) or {}
    snapshot = entry.get("snapshot") or {}
    if entry.get("failed") or snapshot.get("status") != COMPLETED:
        return None
    return snapshot


def patchers(wave: dict, snapshots_result: Mapping, thaw_failures: Mapping[str, Any], records: Mapping[str, Any]) -> list[str]:
    """The hosts to patch: of those the snapshot step took (its ``takers``), the ones whose snapshot is completed, whose
    thaw ended well and whom no task has failed to reach since the wave began."""
    if wave["snapshot_only"] or wave["dry_run"]:
        return []
    by_server = snapshot_results(snapshots_result)
    return [host for host in snapshots_result.get("takers") or []
            if snapshot_of(host, wave, by_server) and not thaw_failures.get(host)
            and not lost_since(records.get(host), wave["hosts"][host]["unreachable_seen"])]


# -------------------------------------------------------------- the records

def describe_failure(task_name: str | None, result: Mapping | None) -> str:
    """The words of a failed task (for rescue blocks): 'Task name: message', or the first failed item's."""
    items = [item for item in (result or {}).get("results") or [] if isinstance(item, dict) and item.get("failed")]
    if items:
        item = items[0].get("item")
        if isinstance(item, dict) and "url" in item:
            item = item["url"]
        return "%s: %s: %s" % (task_name or "a task", "" if item is None else item, _text(items[0].get("msg")))
    return "%s: %s" % (task_name or "a task", _text((result or {}).get("msg"), "unreachable or failed"))


def failure(task_name: str | None, result: Mapping | None, record: list[dict] | None, seen: Any, phase: str,
            now: float | None = None) -> dict:
    """What a rescue keeps of a failed patch or verification: the phase, the cause, the tasks that missed the host.

    A task that could not reach the host during the patch is the cause, whichever task failed after it.
    """
    missed = (record or [])[seen or 0:] if seen is not None else []
    return {
        "phase": phase,
        "cause": incomplete_cause(missed, phase) if missed else describe_failure(task_name, result),
        "unreachable_tasks": [entry.get("task") for entry in missed],
        "at": time.time() if now is None else now,
    }


def incomplete_cause(missed: list[dict], phase: str = "patch") -> str:
    names = ", ".join("'%s'" % entry.get("task") for entry in missed)
    what = {"patch": ("Patch", "patch"), "verify": ("Checks", "checks")}.get(phase, (phase.capitalize(), phase))
    return ("%s incomplete: the host was unreachable during the %s, so %s %s could not run (%s)" % (
        what[0], what[1], "task" if len(missed) == 1 else "tasks", names, _text(missed[0].get("message"), "unreachable")))


@dataclass
class HostCase:
    """One host at the end of its wave: what build_record reads, and the record and phase times it fills in."""

    host: str
    wave: dict
    phases: Mapping  # what the wave's steps returned and its hosts' tasks left (WAVE_INPUTS)
    settings: dict
    record: dict = field(default_factory=dict)
    times: dict = field(default_factory=dict)
    snapshot: dict = field(default_factory=dict)
    ended_at: Any = None  # the mark the host's total time runs to, set by end()

    @property
    def entry(self) -> dict:
        return self.wave["hosts"][self.host]

    def left(self, name: str) -> Any:
        """What the host's own tasks left under ``name`` (one of WAVE_INPUTS, by host), None if nothing."""
        return _get(self.phases[name], self.host)

    @property
    def marks(self) -> dict:
        return self.phases["marks"]

    @property
    def snapshot_text(self) -> str:
        return f"{self.record['snapshot_name']} (id {self.snapshot.get('id')})"

    def end(self, at: Any, **fields: Any) -> HostCase:
        """This host's status is settled at the mark ``at``: fill in the record; build_record stops here."""
        self.ended_at = at
        self.record.update(fields)
        return self


GO_ON = None  # what an outcome returns when it does not settle the host's status


def build_record(host: str, wave: dict, phases: Mapping, settings: dict) -> dict:
    """Everything the role knows of one host at the end of its wave: the first outcome, in phase order, that applies."""
    case = HostCase(host, wave, phases, settings, record=_new_record(host, wave, settings),
                    times={"preflight": phases["marks"].get("preflight")})
    for outcome in OUTCOMES:  # the last, _patched, always settles
        if outcome(case) is not GO_ON:
            break
    case.record["durations"] = durations(wave["started_at"], case.times, case.ended_at)
    return case.record


def _new_record(host: str, wave: dict, settings: dict) -> dict:
    return {
        "host": host, "run_id": wave["run_id"], "dry_run": wave["dry_run"], "wave": wave["number"],
        "server_id": wave["hosts"][host]["server_id"], "status": "not_patched", "snapshot_id": None,
        "snapshot_name": settings["prefix"] + wave["run_id"], "snapshot_kept": False, "snapshot_reused": False,
        "rotation_deleted": [], "cause": None, "manual_step": None, "message": "", "started_at": round(wave["started_at"], 3),
    }


def _not_started(case: HostCase) -> HostCase | None:
    if case.entry["starts"]:
        return GO_ON
    case.times = {}
    stop = case.wave["stop"]
    return case.end(case.marks.get("preflight") or case.wave["started_at"], status="not_started", message=stop,
                    cause=stop, snapshot_name=None)


def _refused(case: HostCase) -> HostCase | None:
    judgement = dict(case.phases["preflight"].get(case.host) or {})
    verdict = judgement.pop("verdict", "not_patched")
    manual_step = judgement.pop("manual_step", None)
    case.record["preflight"] = judgement
    if judgement.get("passed"):
        return GO_ON
    text = " ".join(judgement.get("problems", []))
    lead = "Dry run: would not patch. " if case.wave["dry_run"] else "Not patched, nothing was done: "
    return case.end(case.times["preflight"], status=verdict, cause=text, manual_step=manual_step,
                    message=lead + text)


def _dry_run(case: HostCase) -> HostCase | None:
    if not case.wave["dry_run"]:
        return GO_ON
    rotation = case.record["preflight"].get("rotation_would_delete") or []
    deleting = f" (rotation deleting {', '.join(rotation)})" if rotation else ""
    return case.end(case.times["preflight"], status="would_patch", cause=STATUSES["would_patch"].cause,
                    message=f"Dry run: preflight passed. Would quiesce the host, take snapshot "
                            f"{case.record['snapshot_name']}{deleting}, thaw, patch and verify.")


def _not_snapshotted(case: HostCase) -> HostCase | None:
    """Reads the wave's snapshot of the host's server; a failed quiesce, snapshot or thaw patches nothing."""
    result = case.phases["snapshots"]
    entry = snapshot_results(result).get(case.entry["server_id"]) or {}
    case.snapshot = snapshot = entry.get("snapshot") or {}
    case.record.update(snapshot_id=snapshot.get("id"), snapshot_reused=bool(entry) and not entry.get("changed", True),
                       rotation_deleted=[s.get("name") for s in entry.get("deleted_snapshots") or []],
                       quiesced_seconds=quiesced_seconds(case.marks, case.settings))
    case.times["snapshot"] = case.marks.get("snapshot")
    failure = _snapshot_phase_failure(case, entry, result)
    if not failure:
        return GO_ON
    left = f" The snapshot {case.snapshot_text} is left; nothing was patched." if snapshot.get("id") else ""
    return case.end(case.marks.get("snapshot"), status="not_patched", cause=failure,
                    message="Not patched: " + failure + left, snapshot_kept=bool(snapshot.get("id")))


def _snapshot_phase_failure(case: HostCase, entry: dict, result: dict) -> str | None:
    """What failed between the preflight and the patch: the quiesce, the snapshot or the thaw (None: nothing)."""
    quiesce = case.left("quiesce_failures")
    # What could not reach the host from the wave's start to the patch's (quiesce, thaw).
    lost = [] if quiesce else lost_since(case.left("unreachable"), case.entry["unreachable_seen"], case.left("patch_seen"))
    if quiesce or lost:
        return quiesce or incomplete_cause(lost, "quiesce")
    snapshot = case.snapshot
    if not entry or entry.get("failed") or snapshot.get("status") != COMPLETED:
        failure = "Take the snapshot: %s" % _text(entry.get("msg") or result.get("msg"), "no snapshot was taken")
        if snapshot.get("id") and snapshot.get("status") != COMPLETED:
            failure += " (last seen %s)" % snapshot.get("status")
        return failure
    return case.left("thaw_failures")


def _snapshot_only(case: HostCase) -> HostCase | None:
    if not case.settings.get("snapshot_only"):
        return GO_ON
    case.end(case.marks.get("snapshot"), status="snapshot_only", snapshot_kept=True,
             cause=STATUSES["snapshot_only"].cause,
             message=f"Snapshot {case.snapshot_text} taken; nothing was patched, as asked.")
    _note_ledger(case.record, case.host, case.phases["ledger"])
    return case


def _patch_failed(case: HostCase) -> HostCase | None:
    failed = failure_of(case.left("failures"), case.left("missed") or [], case.marks.get("patch"))
    if not failed:
        return GO_ON
    rollback = case.left("rollbacks") or {}
    _record_rollback(case.record, case.host, case.entry["server_id"], rollback, failed, case.settings)
    in_verify = failed.get("phase") == "verify"
    case.times.update(patch=case.marks.get("patch") if in_verify else failed.get("at"),
                      verify=failed.get("at") if in_verify else None,
                      rollback=rollback.get("at"))
    return case.end(case.times["rollback"] or failed.get("at"))


def _lost(case: HostCase) -> HostCase | None:
    """Never reached the end of its verification, yet no failure was recorded: the host left the play."""
    if connected(case.left("connections")):
        return GO_ON
    restore = _restore_step(case.settings, case.host, case.snapshot["id"])
    return case.end(case.marks.get("verify"), status="rollback_failed", snapshot_kept=True,
                    cause="The run lost this host after its snapshot was taken; it was not verified.",
                    message=f"The run lost this host after snapshot {case.snapshot_text} was taken, before it was "
                            f"verified; nothing was rolled back. The snapshot is kept.",
                    manual_step=f"Look at {case.host}. If the patch left it broken: {restore}")


def _patched(case: HostCase) -> HostCase:
    case.record.update(status="patched", message="Patched and verified.")
    case.times.update(patch=case.marks.get("patch"), verify=case.marks.get("verify"))
    cleanup = _cleanup_outcome(case.entry["server_id"], case.snapshot, case.phases["cleanup"], case.settings)
    if cleanup is not None:
        case.record["snapshot_kept"] = cleanup["kept"]
        if "held_until" in cleanup:
            case.record["held_until"] = cleanup["held_until"]
            case.record["message"] += (" Its snapshot is held until %s, for an undo (vpsorg.cloud.rollback_run)." % (
                cleanup["held_until"]) if cleanup["held_until"] else _no_hold_note(case.snapshot))
        if cleanup.get("error"):
            case.record["message"] += (" Cleaning up the snapshots failed (%s); delete what is no longer needed with "
                                       "vpsorg.cloud.prune_snapshots." % cleanup["error"])
    case.times["cleanup"] = case.marks.get("cleanup")
    _note_ledger(case.record, case.host, case.phases["ledger"])
    return case.end(case.times["cleanup"] or case.marks.get("verify"))


# The outcomes of a host's wave, in phase order: the first that applies settles its status.
OUTCOMES = (_not_started, _refused, _dry_run, _not_snapshotted, _snapshot_only, _patch_failed, _lost, _patched)


def _cleanup_outcome(server_id: int | None, snapshot: dict, cleanup_result: dict, settings: dict) -> dict | None:
    how = settings.get("cleanup", "delete")
    if how == "keep":
        return {"kept": True}
    if how == "hold":
        # The snapshot's own hold, which is what protects it: a snapshot reused from an earlier run of the same run id
        # keeps the description that run gave it, with no hold or another.
        return {"kept": True, "held_until": held_until(snapshot, hold_seconds(snapshot))}
    entry = snapshot_results(cleanup_result).get(server_id)
    if entry is None:
        error = _text(cleanup_result.get("msg")) if _failed(cleanup_result) else "the clean-up did not run"
        return {"kept": True, "error": error}
    gone = [s.get("id") for s in entry.get("deleted_snapshots") or []]
    outcome = {"kept": snapshot.get("id") not in gone}
    if entry.get("failed"):
        outcome["error"] = _text(entry.get("msg"))
    return outcome


def _no_hold_note(snapshot: dict) -> str:
    if hold_seconds(snapshot) is not None:
        return (" Its snapshot is held, but its creation time (%r) cannot be read, so no rotation of the collection "
                "will ever delete it: delete it by hand once it is no longer needed." % (snapshot.get("created_at"),))
    return (" Its snapshot is kept, but holds no hold (it was taken by an earlier attempt of this run id without one): "
            "nothing keeps rotation or a prune from deleting it.")


def held_until(snapshot: dict, seconds: int | None) -> str | None:
    """When a held snapshot's hold runs out (UTC, ISO 8601), on the API's clock: its created_at plus the hold."""
    epoch = created_epoch(snapshot)
    if epoch is None or seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch + seconds))


def _note_ledger(record: dict, host: str, ledger_results: Mapping | None) -> None:
    for item in (ledger_results or {}).get("results") or []:
        if _get(item.get("item"), "host") == host and _failed(item):
            record["message"] += (" Recording this on the host failed (%s), so the next run will refuse the host "
                                  "until you mark it resolved." % _text(item.get("msg")))
            return


def _record_rollback(record: dict, host: str, server_id: int | None, rollback: Mapping, failed: dict, settings: dict) -> None:
    snapshot = "%s (id %s)" % (record["snapshot_name"], record["snapshot_id"])
    cause = failed.get("cause")
    record.update(failed_phase=failed.get("phase"), cause=cause, snapshot_kept=True)
    if failed.get("unreachable_tasks"):
        record["unreachable_tasks"] = failed["unreachable_tasks"]
    resolve = _resolve_step(settings, host)
    status = rollback.get("status")
    if status == "rolled_back":
        record.update(status="rolled_back", manual_step="Find out why the patch failed on %s, then run again with it "
                                                        "marked resolved: %s" % (host, resolve),
                      message="Patching failed (%s); the server was restored from snapshot %s and verified. The snapshot"
                              " is kept, and the next runs leave this host alone until you mark it resolved." % (
                                  cause, snapshot))
    elif status == "restored_unhealthy":
        record.update(status="restored_unhealthy",
                      message="Patching failed (%s). The server was restored from snapshot %s and the restore "
                              "completed, but the host did not pass the checks afterwards (%s). Do not restore again: "
                              "the disk is already back to the snapshot. The snapshot is kept." % (
                                  cause, snapshot, _text(rollback.get("error"))),
                      manual_step="Look at %s from the provider's console (boot, network, sshd, services); once it is "
                                  "healthy, run again with it marked resolved: %s" % (host, resolve))
    else:
        server_status = rollback.get("server_status") or "unknown"
        record["server_status"] = server_status
        restore = _restore_step(settings, host, record["snapshot_id"])
        in_error = server_status == "error"
        record.update(status="rollback_failed",
                      message="Patching failed (%s) and the restore from snapshot %s failed too: %s. The snapshot is "
                              "kept.%s" % (cause, snapshot, _text(rollback.get("error"), "the rollback did not run"),
                                           " The server is now in status error, and the API refuses to restore a "
                                           "server in error: have it brought back to running or stopped first (VPS.org"
                                           " control panel or support), then restore by hand." if in_error
                                           else " Restore by hand."),
                      manual_step=("Once server %s is running or stopped again: " % server_id if in_error else "")
                      + restore)


def quiesced_seconds(marks: dict, settings: dict) -> float | None:
    """How long a host's own quiesce held (services stopped, or the user's quiesce tasks) until its thaw ended.

    At most the wave's snapshot phase, which is what is measured: the quiesce
    starts after the preflight's mark and the thaw ends before the snapshot's.
    None with the built-in quiesce alone, a sync that holds nothing.
    """
    if not settings.get("own_quiesce") or marks.get("snapshot") is None or marks.get("preflight") is None:
        return None
    return _round(float(marks["snapshot"]) - float(marks["preflight"]))


def durations(start: float, times: dict, end: Any) -> dict[str, float | None]:
    """Seconds per phase: each lasts from the end of the phase before it that took place."""
    out, last = {}, start
    for phase in PHASES:
        mark = times.get(phase)
        if mark is None:
            out[phase] = None
            continue
        out[phase] = _round(float(mark) - last)
        last = float(mark)
    out["total"] = _round((end if end is not None else last) - start)
    return out


# What build_records is handed, each a mapping: the results of the wave's steps (the preflight's judgement by host, the
# snapshot and clean-up steps' results, the phases' marks, the ledger's results), and by host what the hosts' own
# tasks left (why a quiesce, thaw, patch or check failed, the tasks of the patch that missed the host, the rollback's
# outcome, the checks' last connection, the record of unreachable tasks and its length at the patch's start).
WAVE_INPUTS = ("preflight", "snapshots", "marks", "cleanup", "ledger", "quiesce_failures", "thaw_failures", "failures",
               "missed", "rollbacks", "connections", "unreachable", "patch_seen")


def build_records(wave: dict, phases: Mapping, settings: dict) -> dict[str, dict]:
    """Every host's record of the wave. A missing input is the caller's mistake, not "nothing happened"."""
    missing = [name for name in WAVE_INPUTS if not isinstance(phases.get(name), Mapping)]
    if missing:
        raise ValueError("The records of a wave need %s (mappings): the role hands them; a renamed variable or "
                         "register loses them." % ", ".join(missing))
    return dict((host, build_record(host, wave, phases, settings)) for host in sorted(wave["hosts"]))


def ledger_targets(records: dict[str, dict], settings: dict) -> list[dict]:
    """Hosts whose snapshot stays although they need no rollback: their record of finished runs names it."""
    return [{"host": host, "name": record["snapshot_name"], "status": record["status"]}
            for host, record in sorted(records.items())
            if settled(record["status"]) and record.get("snapshot_kept") and record.get("snapshot_id")]


# -------------------------------------------------------------- the report

def build_report(hostvars: Mapping, all_hosts: list[str], records: dict | None, settings: dict,
                 now: float | None = None) -> dict:
    """The run's report over every host of the play, and the summary lines."""
    now = time.time() if now is None else now
    hosts, run_id = {}, None
    records = records or {}
    recorded = records_of(hostvars, [host for host in all_hosts if not records.get(host)])
    for host in all_hosts:
        record = records.get(host) or recorded.get(host)
        if not record:
            message = "Not started: the run stopped before this host's wave."
            record = {"host": host, "run_id": None, "dry_run": bool(settings.get("check_mode")), "status": "not_started",
                      "snapshot_id": None, "snapshot_name": None, "snapshot_kept": False, "cause": message,
                      "manual_step": None, "message": message}
        hosts[host] = record
        run_id = run_id or record.get("run_id")
    for record in hosts.values():
        record["run_id"] = record.get("run_id") or run_id
    counts = {}
    for record in hosts.values():
        counts[record["status"]] = counts.get(record["status"], 0) + 1
    report = {
        "run_id": run_id,
        # An undo of the run (playbook vpsorg.cloud.rollback_run) reports with the same fields and its own statuses.
        "undo": any(record.get("undo") for record in hosts.values()),
        "dry_run": bool(settings.get("check_mode")),
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "statuses": counts,
        # The longest any host stayed quiesced (see quiesced_seconds); None when no host had a quiesce that holds.
        "longest_quiesce_seconds": max([r["quiesced_seconds"] for r in hosts.values()
                                        if r.get("quiesced_seconds") is not None] or [None]),
        "hosts": hosts,
    }
    return report


# What each host's published record keeps of its full record: enough for a fleet summary and the next step.
PUBLISHED_FIELDS = ("status", "cause", "snapshot_id", "wave", "started_at", "held_until", "manual_step")
PUBLISHED_PREFIX = "patch_with_rollback_report_"


def published_key(job_id: Any, run_id: Any) -> str:
    """The set_stats key of one job's report: its own, so that AWX's key-by-key merge of the artifacts of several
    jobs (the slices of a sliced job, a canary job) keeps every job's. The AWX job id, else the run id."""
    return PUBLISHED_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", str(job_id or run_id or "run"))


def published_report(report: dict, job_id: Any) -> dict:
    """The job's report as it is published for later jobs of a workflow: compact, one small entry per host.

    Each entry has the fields of PUBLISHED_FIELDS (manual_step only when there is one) and ``seconds``, the
    host's total time; the full record stays in the report file and in set_stats' ``patch_with_rollback``.
    """
    hosts = {}
    for host, record in report["hosts"].items():
        entry = {name: record.get(name) for name in PUBLISHED_FIELDS if name not in ("manual_step", "held_until")}
        entry["seconds"] = _get(record.get("durations") or {}, "total")
        for name in ("manual_step", "held_until"):
            if record.get(name):
                entry[name] = record[name]
        hosts[host] = entry
    return {"run_id": report["run_id"], "dry_run": report["dry_run"], "generated_at": report["generated_at"],
            "job_id": None if job_id in (None, "") else str(job_id), "hosts": hosts}


def failed_hosts(report: dict) -> list[str]:
    """The hosts the run ends failed: those whose status says so. A dry run ends no host failed."""
    if report["dry_run"]:
        return []
    return [host for host, record in report["hosts"].items() if ends_failed(record["status"])]


def summary_lines(report: dict, report_file: str, write_error: str | None = None) -> list[str]:
    """The summary printed at the end of a run: a headline, then one line per host and its next step."""
    headline = "%spatch_with_rollback run %s%s: %s." % (
        "Undo of " if report.get("undo") else "", report["run_id"], " (dry run)" if report["dry_run"] else "",
        ", ".join("%d %s" % (count, status) for status, count in report["statuses"].items()))
    if write_error:
        headline += (" The report was NOT written to %s (%s). Every host still ends failed or ok by its own status; "
                     "its full record is in this job's set_stats data (patch_with_rollback, the artifacts' or AWX's job "
                     "stats) and in each host's patch_with_rollback_records fact." % (report_file, _text(write_error)))
    else:
        headline += " Report: %s" % report_file
    if report.get("longest_quiesce_seconds") is not None:
        headline += " Longest quiesce, to the end of the thaw: %.1f s." % report["longest_quiesce_seconds"]
    lines = [headline]
    for host, record in report["hosts"].items():
        total = _get(record.get("durations") or {}, "total")
        lines.append("%-16s %-18s %s%s%s" % (
            host, record["status"], "wave %s, " % record["wave"] if record.get("wave") is not None else "",
            "%.1f s" % total if total is not None else "-",
            ", snapshot %s (id %s) %s" % (record.get("snapshot_name"), record.get("snapshot_id"),
                                          "held until %s" % record["held_until"] if record.get("held_until") else "kept")
            if record.get("snapshot_kept") else ""))
        if ends_failed(record["status"]):
            lines.append("    " + (record.get("message") or ""))
        if record.get("manual_step"):
            lines.append("    Next: " + record["manual_step"])
    return lines
