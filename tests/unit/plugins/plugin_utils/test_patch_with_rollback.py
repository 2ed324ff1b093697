"""The role patch_with_rollback's decisions and records on their own: gate, preflight, records, report."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.vpsorg.cloud.plugins.filter.patch_with_rollback import patch_select
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic

START = 1000.0
SETTINGS = {"prefix": "pre-patch-", "rotate": True, "rotate_keep": 2, "snapshot_only": False, "cleanup": "delete",
            "state_dir": "/var/lib/x", "server_id_var": "vpsorg_server_id", "resolved_hosts": [],
            "inventory_args": "-i inv", "report_problem": None}


def wave(hosts, run_id="r1", number=1, stop=None, dry_run=False, seen=0):
    return {"run_id": run_id, "number": number, "started_at": START, "dry_run": dry_run, "snapshot_only": False, "stop": stop,
            "hosts": dict((h, {"server_id": s, "server_id_given": s, "starts": stop is None, "unreachable_seen": seen})
                          for h, s in hosts.items()),
            "starting": sorted(hosts) if stop is None else []}


def snap(object_id, server_id, name, created="2026-11-01T00:00:00Z", status="completed"):
    return {"id": object_id, "server": {"id": server_id, "name": "s"}, "name": name, "status": status,
            "created_at": created}


PROBE_OK = {"changed": False, "stdout_lines": []}
PROBE_DOWN = {"unreachable": True, "msg": "Failed to connect to the host via ssh: Connection refused"}


# ------------------------------------------------------------------ the wave

def test_the_gate_stops_a_wave_after_too_many_failures_and_every_wave_after_it():
    earlier = [{"host": "a", "wave": 1, "status": "patched"}, {"host": "b", "wave": 1, "status": "rolled_back"}]
    assert logic.gate(earlier, 50, False) is None  # 1 of 2 is 50 %: not more than allowed
    stop = logic.gate(earlier, 49, False)
    assert stop == ("Not started: in wave 1, 1 of 2 hosts did not end patched (b), more than the 49% allowed "
                    "(patch_with_rollback_max_fail_percentage); later waves were not started.")
    assert logic.gate(earlier + [{"host": "c", "wave": 2, "status": "not_started"}], 100, False) == \
        "Not started: the run stopped before this host's wave."
    assert logic.gate(earlier, 0, True) is None  # a dry run reports every host
    # Only the last wave counts: wave 1 failed, wave 2 did not.
    assert logic.gate(earlier + [{"host": "c", "wave": 2, "status": "snapshot_only"}], 0, False) is None


@pytest.mark.parametrize("value", [150, -1, "lots", True, None])
def test_a_max_fail_percentage_outside_0_to_100_starts_no_host(value):
    planned = logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"], {"max_fail_percentage": value}, now=START)
    assert planned["hosts"]["a"]["starts"] is False
    assert planned["stop"].startswith("Not started: patch_with_rollback_max_fail_percentage must be a number from 0 to 100")


def test_one_run_id_for_every_wave_and_host():
    hostvars = {"a": {"patch_with_rollback_records": {"a": {"run_id": "job-7", "wave": 1, "status": "patched"}}},
                "b": {"vpsorg_server_id": "102", "vpsorg_cloud_unreachable": [{"task": "x"}]}}
    planned = logic.plan_wave(hostvars, ["a", "b"], ["b"], {"run_id": "ignored", "max_fail_percentage": 0}, now=START)
    assert planned["run_id"] == "job-7" and planned["number"] == 2
    assert planned["hosts"]["b"] == {"server_id": 102, "server_id_given": "102", "starts": True, "unreachable_seen": 1}
    assert logic.run_id_for("", "awx 12/3", []) == "awx-12-3"
    assert logic.run_id_for("", "", [], now=0) == "19700101T000000Z"


def test_a_play_without_the_record_of_unreachable_tasks_is_seen():
    planned = logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"], {"max_fail_percentage": 0}, now=START)
    assert planned["hosts"]["a"]["unreachable_seen"] is None


# ------------------------------------------------------------- the preflight

def judge(hostvars, snapshots=(), settings=None, listing_error=None, reads=None, the_wave=None):
    the_wave = the_wave or wave({"web": 101})
    return logic.judge_host("web", the_wave, hostvars["web"]["__patch_with_rollback_probe"], list(snapshots), listing_error, reads or {},
                            dict(SETTINGS, **(settings or {})))


def test_the_built_in_patch_refuses_a_host_without_apt_dnf_or_yum_before_its_snapshot():
    files = ["/usr/bin/apt-get", "/usr/bin/dnf", "/usr/bin/yum"]
    builtin = {"package_manager_files": files}  # the role's list when the built-in patch runs
    # The probe's lines: the record's file names, then the package managers' files it found.
    with_apt = dict(PROBE_OK, stdout_lines=["pre-patch-old", "/usr/bin/apt-get"])
    verdict = judge({"web": {"__patch_with_rollback_probe": with_apt}}, settings=builtin)
    assert verdict["passed"], verdict["problems"]
    assert logic.package_managers(with_apt, files) == ["/usr/bin/apt-get"]
    assert logic._ledger_names(with_apt) == {"pre-patch-old"}
    # A path that is none of the files is no package manager.
    assert logic.package_managers(dict(PROBE_OK, stdout_lines=["/usr/bin/pacman"]), files) == []
    verdict = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, settings=builtin)
    assert not verdict["passed"] and verdict["verdict"] == "not_patched"
    assert verdict["problems"] == [
        "The built-in patch upgrades with apt, dnf or yum, and the host has none of them (no /usr/bin/apt-get, "
        "/usr/bin/dnf or /usr/bin/yum). Set patch_with_rollback_patch_tasks to a tasks file of your own that patches it."]
    # A patch of the user's own, or a snapshot only: no files to look for.
    assert judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, settings={"package_manager_files": []})["passed"]
    # An unreachable host is refused for that alone: its package managers are unknown, not missing.
    down = judge({"web": {"__patch_with_rollback_probe": PROBE_DOWN}}, settings=builtin)
    assert [p for p in down["problems"] if "built-in patch" in p] == []


def test_a_host_that_answers_with_room_passes_and_says_what_rotation_would_delete():
    snapshots = [snap(1, 101, "pre-patch-old", "2026-10-01T00:00:00Z"), snap(2, 101, "pre-patch-new"),
                 snap(3, 102, "pre-patch-other-server")]
    probe = dict(PROBE_OK, stdout_lines=["pre-patch-old", "pre-patch-new"])
    judgement = judge({"web": {"__patch_with_rollback_probe": probe}}, snapshots)
    assert judgement["passed"] and judgement["problems"] == []
    assert judgement["rotation_would_delete"] == ["pre-patch-old"]
    assert judgement["room"] is True and judgement["snapshots"] == 2 and judgement["unresolved_snapshots"] == []


def test_an_unreachable_host_is_refused_and_its_stopped_server_named():
    reads = {101: {"server": {"id": 101, "status": "stopped"}}}
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_DOWN}}, reads=reads)
    assert not judgement["passed"] and judgement["reachable"] is False and judgement["server_status"] == "stopped"
    assert judgement["problems"] == [
        "Server 101 is stopped, not running.",
        "The host is unreachable through a fresh connection: Failed to connect to the host via ssh: Connection refused"]


def test_a_snapshot_of_the_role_that_no_finished_run_names_blocks_the_host_until_resolved():
    snapshots = [snap(7, 101, "pre-patch-r0")]
    hostvars = {"web": {"__patch_with_rollback_probe": PROBE_OK}}
    judgement = judge(hostvars, snapshots)
    assert not judgement["passed"] and judgement["verdict"] == "unresolved"
    assert judgement["problems"][0].startswith("Refused: snapshot pre-patch-r0 (id 7, taken 2026-11-01T00:00:00Z) is left")
    assert "vpsorg.cloud.restore -e target=web -e snapshot_id=7" in judgement["manual_step"]
    assert "patch_with_rollback_resolved_hosts" in judgement["manual_step"]
    resolved = judge(hostvars, snapshots, settings={"resolved_hosts": ["web"]})
    assert resolved["passed"] and resolved["marked_resolved"] == ["pre-patch-r0"]
    # An in-progress snapshot is not a restore point; a snapshot of another prefix is not the role's.
    assert judge(hostvars, [snap(8, 101, "pre-patch-r0", status="in_progress"), snap(9, 101, "nightly")])["passed"]


def test_no_room_names_what_is_in_the_way():
    snapshots = [snap(i, 101, "manual-%d" % i, "2026-11-0%dT00:00:00Z" % i) for i in range(1, 6)]
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, snapshots)
    assert judgement["room"] is False and not judgement["passed"]
    assert judgement["problems"][0].startswith("No room for the snapshot: server 101 already has 5 snapshots")
    assert "manual-5, manual-4, manual-3, manual-2, manual-1" in judgement["problems"][0]
    # A re-run of the same run reuses its snapshot: no room is needed.
    reused = snapshots[:4] + [snap(5, 101, "pre-patch-r1")]
    assert judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, reused)["passed"]


def test_every_other_reason_to_refuse_is_a_problem_of_its_own():
    the_wave = wave({"web": 101}, seen=None)
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, listing_error="HTTP 500",
                      settings={"report_problem": "The report cannot be written to /x/r.json: ..."}, the_wave=the_wave)
    assert judgement["problems"] == [
        "The server's snapshots could not be listed: HTTP 500",
        "The report cannot be written to /x/r.json: ...",
        judgement["problems"][2]]
    assert judgement["problems"][2].startswith("The play's strategy keeps no record of tasks that could not reach")
    assert judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, settings={"snapshot_only": True},
                 the_wave=the_wave)["passed"]


def test_a_server_id_that_is_not_a_positive_integer_is_refused():
    the_wave = wave({"web": None})
    the_wave["hosts"]["web"]["server_id_given"] = "web-01"
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, the_wave=the_wave)
    assert judgement["problems"][0] == ("The host variable vpsorg_server_id must hold the id of the host's VPS.org "
                                        "server (a positive integer), not 'web-01'.")


def test_hosts_that_share_a_server_are_found_across_the_whole_play():
    hostvars = {"web": {"vpsorg_server_id": 501}, "db": {"vpsorg_server_id": "501"}, "app": {"vpsorg_server_id": 502},
                "cache": {"vpsorg_server_id": 501}, "bad": {"vpsorg_server_id": "x"}, "bad2": {"vpsorg_server_id": "x"}}
    order = ["web", "app", "db", "bad", "bad2", "cache"]
    assert logic.shared_servers(hostvars, order, "vpsorg_server_id") == {"501": ["web", "db", "cache"]}
    # A wave of one host still knows the hosts that serial put in the other waves.
    planned = logic.plan_wave(hostvars, order, ["db"], {"max_fail_percentage": 0}, now=START)
    assert planned["shared_servers"] == {"501": ["web", "db", "cache"]}
    assert logic.plan_wave(hostvars, ["web", "app"], ["web", "app"], {"max_fail_percentage": 0},
                           now=START)["shared_servers"] == {}


def test_a_host_that_shares_its_server_is_refused_and_names_every_host_and_the_server():
    the_wave = wave({"web": 501})
    the_wave["shared_servers"] = {"501": ["web", "db"]}
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, the_wave=the_wave)
    assert judgement["passed"] is False and judgement["shares_server_with"] == ["db"]
    assert judgement["problems"] == [
        "Refused: hosts web, db all name server 501 (vpsorg_server_id), and the role snapshots and restores whole "
        "servers: one host's clean-up would delete the snapshot another's rollback needs, or one host's rollback "
        "would undo another's patch. None of them is patched, and nothing was done. List each server once in the "
        "play (one inventory host per server, for example with --limit), and patch everything that runs on it from "
        "that host."]
    alone = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}})
    assert alone["passed"] is True and alone["shares_server_with"] == []


def test_the_report_folder_is_looked_at_on_the_controller(tmp_path):
    assert logic.report_folder_problem(str(tmp_path / "r.json")) is None
    missing = str(tmp_path / "no" / "r.json")
    assert logic.report_folder_problem(missing) == (
        "The report cannot be written to %s: the folder %s does not exist. Set patch_with_rollback_report_path to a "
        "file in a folder that exists." % (missing, os.path.dirname(missing)))
    (tmp_path / "file").write_text("")
    assert "is not a folder" in logic.report_folder_problem(str(tmp_path / "file" / "r.json"))


# -------------------------------------------------------------- the records

MARKS = {"preflight": START + 1, "snapshot": START + 11, "patch": START + 12, "verify": START + 15,
         "cleanup": START + 16}
SNAPSHOTS = {"results": [{"server_id": 101, "changed": True, "deleted_snapshots": [{"id": 1, "name": "pre-patch-x"}],
                          "snapshot": snap(801, 101, "pre-patch-r1")}]}
CLEANED = {"results": [{"server_id": 101, "changed": True, "deleted_snapshots": [{"id": 801, "name": "pre-patch-r1"}]}]}
PASSED = {"web": {"passed": True, "problems": [], "reachable": True}}


# The facts the role's tasks set on a host, by the input of build_records that vars/main.yml gathers them into.
LEFT_BY_FACT = {"quiesce_failures": "__patch_with_rollback_quiesce_failure", "thaw_failures": "__patch_with_rollback_thaw_failure",
                "failures": "__patch_with_rollback_failure", "rollbacks": "__patch_with_rollback_rollback",
                "connections": "__patch_with_rollback_connection", "unreachable": "vpsorg_cloud_unreachable"}


def left_of(host_vars, host="web"):
    """What the host's tasks left, as the role hands it to build_records: by host, and the wave-wide facts as they are."""
    left = dict((name, {host: host_vars.get(fact)}) for name, fact in LEFT_BY_FACT.items())
    left.update(missed=host_vars.get("__patch_with_rollback_missed_by_host", {}),
                patch_seen=host_vars.get("__patch_with_rollback_patch_seen", {}))
    return left


def record(host_vars, preflight=None, snapshots=None, cleaned=None, settings=None, the_wave=None, ledger=None):
    """One host's record; the phases' results default to a wave that went well."""
    the_wave = the_wave or wave({"web": 101})
    phases = dict(left_of(host_vars), preflight=PASSED if preflight is None else preflight,
                  snapshots=SNAPSHOTS if snapshots is None else snapshots, marks=MARKS,
                  cleanup=CLEANED if cleaned is None else cleaned, ledger=ledger or {})
    return logic.build_record("web", the_wave, phases, dict(SETTINGS, **(settings or {})))


PATCHED_VARS = {"__patch_with_rollback_patching": ["web"], "__patch_with_rollback_connection": {"elapsed": 1},
                "vpsorg_cloud_unreachable": []}


def test_a_patched_host_and_its_times():
    entry = record(PATCHED_VARS)
    assert entry["status"] == "patched" and entry["message"] == "Patched and verified." and entry["cause"] is None
    assert entry["snapshot_id"] == 801 and entry["snapshot_kept"] is False and entry["rotation_deleted"] == ["pre-patch-x"]
    assert entry["durations"] == {"preflight": 1.0, "snapshot": 10.0, "patch": 1.0, "verify": 3.0, "rollback": None,
                                  "cleanup": 1.0, "total": 16.0}
    assert patch_select(wave({"web": 101}), "verified_servers", hostvars={"web": PATCHED_VARS}) == [101]


def test_a_clean_up_that_failed_keeps_the_snapshot_and_says_so():
    cleaned = {"failed": True, "results": [{"server_id": 101, "failed": True, "msg": "HTTP 500", "deleted_snapshots": []}]}
    entry = record(PATCHED_VARS, cleaned=cleaned)
    assert entry["status"] == "patched" and entry["snapshot_kept"] is True
    assert "Cleaning up the snapshots failed (HTTP 500)" in entry["message"]
    assert logic.ledger_targets({"web": entry}, SETTINGS) == [{"host": "web", "name": "pre-patch-r1", "status": "patched"}]


def test_a_patch_cut_short_by_a_host_that_went_away_is_rolled_back_with_the_tasks_named():
    missed = [{"task": "Step 2", "message": "Connection refused"}, {"task": "Step 3", "message": "Connection refused"}]
    failure = logic.failure("Patch incomplete", {}, missed, 0, "patch", now=START + 12)
    assert failure["cause"] == ("Patch incomplete: the host was unreachable during the patch, so tasks 'Step 2', "
                                "'Step 3' could not run (Connection refused)")
    host_vars = dict(PATCHED_VARS, __patch_with_rollback_failure=failure,
                     __patch_with_rollback_rollback={"status": "rolled_back", "at": START + 20})
    entry = record(host_vars)
    assert entry["status"] == "rolled_back" and entry["unreachable_tasks"] == ["Step 2", "Step 3"]
    assert entry["failed_phase"] == "patch" and entry["snapshot_kept"] is True and entry["cause"] == failure["cause"]
    assert entry["message"].startswith("Patching failed (Patch incomplete: ")
    assert "restored from snapshot pre-patch-r1 (id 801) and verified" in entry["message"]
    assert entry["durations"]["rollback"] == 8.0 and entry["durations"]["verify"] is None


def test_a_failure_without_a_lost_task_is_described_by_the_task_that_failed():
    result = {"results": [{"failed": True, "item": {"url": "http://h/health"}, "msg": "Status code was 503"}]}
    failure = logic.failure("Check the HTTP endpoints", result, [], 0, "verify")
    assert failure["cause"] == "Check the HTTP endpoints: http://h/health: Status code was 503"
    assert failure["unreachable_tasks"] == []


def test_the_three_endings_of_a_rollback():
    failure = {"phase": "verify", "cause": "Wait for the host's port: Timeout", "unreachable_tasks": [], "at": START + 14}
    unhealthy = record(dict(PATCHED_VARS, __patch_with_rollback_failure=failure, __patch_with_rollback_rollback={
        "status": "restored_unhealthy", "error": "Reach the host through a fresh connection: timed out", "at": START + 30}))
    assert unhealthy["status"] == "restored_unhealthy" and "Do not restore again" in unhealthy["message"]
    assert unhealthy["manual_step"].startswith("Look at web from the provider's console")
    failed = record(dict(PATCHED_VARS, __patch_with_rollback_failure=failure, __patch_with_rollback_rollback={
        "status": "rollback_failed", "error": "HTTP 400", "server_status": "error", "at": START + 30}))
    assert failed["status"] == "rollback_failed" and failed["server_status"] == "error"
    assert failed["manual_step"] == ("Once server 101 is running or stopped again: ansible-playbook -i inv "
                                     "vpsorg.cloud.restore -e target=web -e snapshot_id=801")


def test_a_host_that_did_not_pass_or_never_started():
    refused = {"web": {"passed": False, "problems": ["Refused: x."], "verdict": "unresolved", "manual_step": "Check web."}}
    entry = record({}, preflight=refused)
    assert entry["status"] == "unresolved" and entry["cause"] == "Refused: x." and entry["manual_step"] == "Check web."
    assert entry["message"] == "Not patched, nothing was done: Refused: x." and "verdict" not in entry["preflight"]
    stopped = record({}, the_wave=wave({"web": 101}, stop="Not started: the run stopped before this host's wave."))
    assert stopped["status"] == "not_started" and stopped["cause"] == stopped["message"]
    dry = record({}, the_wave=wave({"web": 101}, dry_run=True),
                 preflight={"web": {"passed": True, "problems": [], "rotation_would_delete": ["pre-patch-x"]}})
    assert dry["status"] == "would_patch" and dry["cause"] == "Dry run (check mode): nothing was changed."
    assert "take snapshot pre-patch-r1 (rotation deleting pre-patch-x)" in dry["message"]


def test_a_snapshot_that_failed_or_a_quiesce_that_failed_patches_nothing():
    failed = {"failed": True, "msg": "1 of 1 servers failed",
              "results": [{"server_id": 101, "failed": True, "msg": "Server 101 already has 5", "snapshot": None}]}
    entry = record({}, snapshots=failed)
    assert entry["status"] == "not_patched" and entry["cause"] == "Take the snapshot: Server 101 already has 5"
    assert entry["durations"]["patch"] is None
    quiesced = record({"__patch_with_rollback_quiesce_failure": "Stop the services: nginx is unknown"})
    assert quiesced["cause"] == "Stop the services: nginx is unknown"
    assert quiesced["message"].endswith("The snapshot pre-patch-r1 (id 801) is left; nothing was patched.")
    only = record({}, settings={"snapshot_only": True})
    assert only["status"] == "snapshot_only" and only["snapshot_kept"] and only["cause"].startswith("patch_with_rollback")


def test_every_status_but_patched_has_a_cause():
    failure = {"phase": "patch", "cause": "boom", "unreachable_tasks": [], "at": START + 12}
    entries = [record(PATCHED_VARS), record({}, preflight={"web": {"passed": False, "problems": ["No."]}}),
               record({}, the_wave=wave({"web": 101}, stop="Not started: x")), record({}, settings={"snapshot_only": True}),
               record({}, snapshots={}), record({}, the_wave=wave({"web": 101}, dry_run=True))]
    entries += [record(dict(PATCHED_VARS, __patch_with_rollback_failure=failure,
                            __patch_with_rollback_rollback={"status": s, "at": START + 20}))
                for s in ("rolled_back", "restored_unhealthy", "rollback_failed")]
    entries.append(record({"__patch_with_rollback_patching": ["web"]}))  # lost before its verification ended
    assert sorted(e["status"] for e in entries) == sorted([
        "patched", "not_patched", "not_started", "snapshot_only", "not_patched", "would_patch", "rolled_back",
        "restored_unhealthy", "rollback_failed", "rollback_failed"])
    for entry in entries:
        assert bool(entry["cause"]) == (entry["status"] != "patched"), entry


# -------------------------------------------------------------- the report

def test_the_report_covers_every_host_of_the_play_and_the_summary_names_the_next_steps():
    records = {"web": dict(record(PATCHED_VARS), wave=1)}
    hostvars = {"web": {"patch_with_rollback_records": records}, "db": {}}
    report = logic.build_report(hostvars, ["web", "db"], {}, {"check_mode": False}, now=0)
    assert report["run_id"] == "r1" and report["statuses"] == {"patched": 1, "not_started": 1}
    assert report["hosts"]["db"]["run_id"] == "r1" and report["hosts"]["db"]["cause"].startswith("Not started")
    assert report["generated_at"] == "1970-01-01T00:00:00Z"
    lines = logic.summary_lines(report, "/tmp/r.json")
    assert lines[0] == "patch_with_rollback run r1: 1 patched, 1 not_started. Report: /tmp/r.json"
    assert lines[1] == "web              patched            wave 1, 16.0 s"
    assert lines[2].startswith("db               not_started        -") and lines[3].startswith("    Not started")
    unwritten = logic.summary_lines(report, "/tmp/r.json", "Destination directory /tmp does not exist")
    assert "The report was NOT written to /tmp/r.json (Destination directory /tmp does not exist)" in unwritten[0]
    assert "set_stats" in unwritten[0]


class CountedReads(dict):
    """Host variables that count which hosts were read."""

    def __init__(self, *args, **kwargs):
        super(CountedReads, self).__init__(*args, **kwargs)
        self.reads = []

    def __getitem__(self, host):
        self.reads.append(host)
        return super(CountedReads, self).__getitem__(host)


def test_the_records_of_a_wave_are_read_from_one_host_of_it():
    """Every host of a wave holds the wave's records: one read per wave, not one per host."""
    waves = [["a", "b", "c"], ["d", "e"]]
    hostvars = CountedReads()
    for number, hosts in enumerate(waves, 1):
        records = dict((h, {"host": h, "run_id": "r1", "wave": number, "status": "patched"}) for h in hosts)
        for host in hosts:
            hostvars[host] = {"patch_with_rollback_records": records}
    hostvars["f"] = {}  # a host of a wave never started
    report = logic.build_report(hostvars, ["a", "b", "c", "d", "e", "f"], {}, {"check_mode": False}, now=0)
    assert hostvars.reads == ["a", "d", "f"]
    assert [(h, r["wave"] if r["status"] == "patched" else None) for h, r in report["hosts"].items()] == [
        ("a", 1), ("b", 1), ("c", 1), ("d", 2), ("e", 2), ("f", None)]
    hostvars.reads = []
    assert [r["host"] for r in logic.earlier_records(hostvars, ["a", "b", "c", "d", "e", "f"], ["d", "e"])] == [
        "a", "b", "c"]
    assert hostvars.reads == ["a", "f"]


def test_a_patch_cut_short_needs_no_failed_task_to_be_rolled_back():
    """The strategy's record between the patch's start and end is enough: the checks were skipped for it."""
    missed = [{"task": "Step 2", "message": "Connection refused"}]
    at_patch_end = [{"task": "probe"}] + missed
    host_vars = dict(PATCHED_VARS, vpsorg_cloud_unreachable=at_patch_end + [{"task": "later check"}],
                     __patch_with_rollback_patch_seen={"web": 1},
                     __patch_with_rollback_missed_by_host=logic.missed_by_host({"web": at_patch_end}, {"web": 1}),
                     __patch_with_rollback_rollback={"status": "rolled_back", "at": START + 20})
    assert host_vars["__patch_with_rollback_missed_by_host"] == {"web": missed}
    the_wave = wave({"web": 101}, seen=1)  # the entry before the wave is another play's
    assert patch_select(the_wave, "verified_servers", hostvars={"web": host_vars}) == []
    entry = record(host_vars, the_wave=the_wave)
    assert entry["status"] == "rolled_back" and entry["unreachable_tasks"] == ["Step 2"]
    assert entry["cause"] == ("Patch incomplete: the host was unreachable during the patch, so task 'Step 2' could "
                              "not run (Connection refused)")


def test_the_role_and_the_records_read_a_cut_short_patch_from_one_function():
    """The role's condition (filter patch_missed) and the records (missed_by_host) agree, lengths as text too."""
    from ansible_collections.vpsorg.cloud.plugins.filter.patch_with_rollback import patch_missed
    record_ = [{"task": "probe"}, {"task": "Step 2"}, {"task": "later check"}]
    assert patch_missed(record_, "1", 2) == [{"task": "Step 2"}]
    assert patch_missed(record_, None, 2) == []      # the patch never started for the host
    assert patch_missed(None, 0, 0) == []
    # At the patch's end the record held two entries; "later check" came after.
    assert logic.missed_by_host({"web": record_[:2]}, {"web": "1"}) == {"web": patch_missed(record_, 1, 2)}


def test_the_longest_quiesce_is_reported_only_for_a_quiesce_that_holds():
    held = record(PATCHED_VARS, settings={"own_quiesce": True})
    assert held["quiesced_seconds"] == 10.0             # from the preflight's mark to the end of the thaw
    assert record(PATCHED_VARS)["quiesced_seconds"] is None   # the built-in sync holds nothing
    report = logic.build_report({}, ["web", "db"], {"web": held, "db": dict(held, quiesced_seconds=4.0)},
                                {"check_mode": False}, now=0)
    assert report["longest_quiesce_seconds"] == 10.0
    assert "Longest quiesce, to the end of the thaw: 10.0 s." in logic.summary_lines(report, "/r.json")[0]
    plain = logic.build_report({}, ["web"], {"web": record(PATCHED_VARS)}, {"check_mode": False}, now=0)
    assert plain["longest_quiesce_seconds"] is None
    assert "quiesce" not in logic.summary_lines(plain, "/r.json")[0]


def test_each_job_publishes_a_compact_report_under_a_key_of_its_own():
    assert logic.published_key(5010, "CHG-42") == "patch_with_rollback_report_5010"
    assert logic.published_key(None, "CHG-42/b") == "patch_with_rollback_report_CHG_42_b"  # outside AWX: the run id
    hosts = {}
    for number in range(1000):
        name = "web-%04d.prod.example.com" % number
        hosts[name] = {"host": name, "run_id": "CHG-42", "wave": 1 + number // 100, "server_id": 100000 + number,
                       "status": "patched", "snapshot_id": 9000000 + number, "snapshot_name": "pre-patch-CHG-42",
                       "snapshot_kept": False, "cause": None, "manual_step": None, "message": "Patched and verified.",
                       "started_at": 1796554000.1, "preflight": {"passed": True, "problems": []},
                       "durations": {"preflight": 1.2, "snapshot": 31.4, "patch": 19.5, "verify": 3.1, "rollback": None,
                                     "cleanup": 1.0, "total": 56.2}}
    hosts["web-0007.prod.example.com"].update(status="rolled_back", cause="Patch: failed", manual_step="Run again")
    report = {"run_id": "CHG-42", "dry_run": False, "generated_at": "2026-12-06T10:00:00Z", "hosts": hosts}
    published = logic.published_report(report, 5010)
    assert published["job_id"] == "5010" and published["run_id"] == "CHG-42" and published["dry_run"] is False
    assert published["hosts"]["web-0007.prod.example.com"] == {
        "status": "rolled_back", "cause": "Patch: failed", "snapshot_id": 9000007, "wave": 1,
        "started_at": 1796554000.1, "seconds": 56.2, "manual_step": "Run again"}
    assert "manual_step" not in published["hosts"]["web-0008.prod.example.com"]
    # What AWX keeps and hands on per job: about 150 bytes a host (docs/awx.md), a third of the full records.
    size = len(json.dumps(published))
    assert 140000 < size < 160000 and size * 3 < len(json.dumps(hosts))


# ----------------------------------------------------- edge cases a mutation pass found unpinned


def test_an_unreachable_host_whose_server_status_is_unknown_gets_no_status_problem():
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_DOWN}}, reads={})
    assert judgement["problems"] == [
        "The host is unreachable through a fresh connection: Failed to connect to the host via ssh: Connection refused"]


def test_four_foreign_snapshots_leave_room_for_the_fifth():
    snapshots = [snap(i, 101, "nightly-%d" % i) for i in range(4)]
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, snapshots, settings={"rotate": False})
    assert judgement["passed"] and judgement["room"] is True and judgement["snapshot_limit"] == 5


def test_cleanup_keep_keeps_the_snapshot_and_names_it_in_the_ledger():
    entry = record(PATCHED_VARS, cleaned={}, settings={"cleanup": "keep"})
    assert entry["status"] == "patched" and entry["snapshot_kept"] is True and entry["message"] == "Patched and verified."
    assert logic.ledger_targets({"web": entry}, SETTINGS) == [{"host": "web", "name": "pre-patch-r1", "status": "patched"}]


def test_a_snapshot_entry_without_changed_is_not_reused():
    snapshots = {"results": [{"server_id": 101, "snapshot": snap(801, 101, "pre-patch-r1")}]}
    assert record(PATCHED_VARS, snapshots=snapshots)["snapshot_reused"] is False
    reused = {"results": [{"server_id": 101, "changed": False, "snapshot": snap(801, 101, "pre-patch-r1")}]}
    assert record(PATCHED_VARS, snapshots=reused)["snapshot_reused"] is True


def test_a_failed_ledger_write_is_named_on_a_patched_host():
    ledger = {"results": [{"item": {"host": "web"}, "failed": True, "msg": "disk full"}]}
    entry = record(PATCHED_VARS, settings={"cleanup": "keep"}, ledger=ledger)
    assert entry["status"] == "patched"
    assert "Recording this on the host failed (disk full)" in entry["message"]


def test_a_failed_final_connection_is_a_lost_host_not_a_patched_one():
    entry = record({"__patch_with_rollback_patching": ["web"], "vpsorg_cloud_unreachable": [],
                    "__patch_with_rollback_connection": {"unreachable": True, "msg": "timed out"}})
    assert entry["status"] == "rollback_failed" and entry["snapshot_kept"] is True


def test_a_skipped_final_connection_is_not_a_verification_and_the_clean_up_agrees():
    """The record and the clean-up read the checks' last connection with one function (connected)."""
    skipped = {"skipped": True, "changed": False}
    entry = record({"vpsorg_cloud_unreachable": [], "__patch_with_rollback_connection": skipped})
    assert entry["status"] == "rollback_failed" and entry["snapshot_kept"] is True
    assert logic.verified_hosts(["web"], {}, {}, {"web": skipped}) == []


def test_the_records_refuse_a_missing_input_instead_of_reading_nothing_happened():
    phases = dict(left_of(PATCHED_VARS), preflight=PASSED, snapshots=SNAPSHOTS, marks=MARKS, cleanup=CLEANED, ledger={})
    assert logic.build_records(wave({"web": 101}), phases, SETTINGS)["web"]["status"] == "patched"
    renamed = dict(phases, connection=phases["connections"])
    del renamed["connections"], renamed["rollbacks"]
    with pytest.raises(ValueError, match=r"need rollbacks, connections \(mappings\)"):
        logic.build_records(wave({"web": 101}), renamed, SETTINGS)
    with pytest.raises(ValueError, match="need failures "):
        logic.build_records(wave({"web": 101}), dict(phases, rollbacks={}, connections={}, failures=None), SETTINGS)


def test_the_deprecated_records_filter_reads_the_same_records_from_hostvars():
    from ansible_collections.vpsorg.cloud.plugins.filter.patch_with_rollback import patch_records, patch_wave_records
    failure = {"phase": "verify", "cause": "Check: 503", "unreachable_tasks": [], "at": START + 14}
    host_vars = {"web": PATCHED_VARS, "db": dict(PATCHED_VARS, __patch_with_rollback_failure=failure,
                                                 __patch_with_rollback_rollback={"status": "rolled_back", "at": START + 20})}
    the_wave = wave({"web": 101, "db": 102})
    snapshots = {"results": [dict(SNAPSHOTS["results"][0]), dict(SNAPSHOTS["results"][0], server_id=102)]}
    phases = dict(preflight={"web": PASSED["web"], "db": PASSED["web"]}, snapshots=snapshots, marks=MARKS, cleanup=CLEANED,
                  ledger={}, missed={}, patch_seen={})
    for name, fact in LEFT_BY_FACT.items():
        phases[name] = dict((host, host_vars[host].get(fact)) for host in host_vars)
    handed = patch_wave_records(the_wave, phases, SETTINGS)
    assert [handed["records"][h]["status"] for h in ("db", "web")] == ["rolled_back", "patched"]
    assert handed["ledger"] == logic.ledger_targets(handed["records"], SETTINGS)
    assert patch_records(the_wave, host_vars, phases["preflight"], snapshots, MARKS, CLEANED, {}, SETTINGS) == handed["records"]


def test_the_wave_says_whether_it_patches_at_all():
    planned = logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"], {"snapshot_only": True}, now=START)
    assert planned["snapshot_only"] is True and planned["dry_run"] is False
    assert logic.plan_wave({"a": {}}, ["a"], ["a"], {"check_mode": True}, now=START)["snapshot_only"] is False


def test_a_rollback_failed_on_a_stopped_server_asks_only_for_a_restore():
    failure = {"phase": "patch", "cause": "boom", "unreachable_tasks": [], "at": START + 12}
    entry = record(dict(PATCHED_VARS, __patch_with_rollback_failure=failure, __patch_with_rollback_rollback={
        "status": "rollback_failed", "error": "HTTP 400", "server_status": "stopped", "at": START + 30}))
    assert entry["manual_step"] == "ansible-playbook -i inv vpsorg.cloud.restore -e target=web -e snapshot_id=801"
    assert entry["message"].endswith(" Restore by hand.")


def test_a_host_never_started_in_a_dry_run_is_a_dry_run_record():
    report = logic.build_report({"db": {}}, ["db"], {}, {"check_mode": True}, now=0)
    assert report["dry_run"] is True and report["hosts"]["db"]["dry_run"] is True


def test_an_empty_job_id_is_published_as_none():
    report = {"run_id": "r1", "dry_run": False, "generated_at": "x", "hosts": {}}
    assert logic.published_report(report, "")["job_id"] is None


def test_the_summary_headline_says_dry_run():
    report = logic.build_report({}, ["web"], {"web": record({}, the_wave=wave({"web": 101}, dry_run=True))},
                                {"check_mode": True}, now=0)
    assert logic.summary_lines(report, "/r.json")[0].startswith("patch_with_rollback run r1 (dry run): 1 would_patch.")


def test_missed_between_is_empty_when_the_end_is_unknown():
    assert logic.missed_between([{"task": "a"}, {"task": "b"}], 0, None) == []


def test_a_rolled_back_host_is_never_a_ledger_target():
    rolled = {"status": "rolled_back", "snapshot_kept": True, "snapshot_id": 801, "snapshot_name": "pre-patch-r1"}
    assert logic.ledger_targets({"web": rolled}, SETTINGS) == []


def test_the_given_run_id_wins_over_the_awx_job_id():
    assert logic.run_id_for("CHG-42", 5010, []) == "CHG-42"


# ------------------------------------------------------------------ the hold

@pytest.mark.parametrize("hold", ["", "soon", "0h", None])
def test_cleanup_hold_without_a_readable_hold_starts_no_host(hold):
    planned = logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"],
                              {"max_fail_percentage": 0, "cleanup": "hold", "hold": hold}, now=START)
    assert planned["hosts"]["a"]["starts"] is False and planned["hold_seconds"] is None
    assert planned["stop"] == ("Not started: patch_with_rollback_cleanup is hold, so patch_with_rollback_hold must say "
                               "for how long (a number and a unit: s, m, h, d or w, for example 24h or 3d), not %r."
                               % (hold,))


def test_the_wave_carries_the_hold_in_seconds_only_with_cleanup_hold():
    settings = {"max_fail_percentage": 0, "cleanup": "hold", "hold": "1d12h"}
    assert logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"], settings, now=START)["hold_seconds"] == 129600
    settings["cleanup"] = "keep"
    assert logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"], settings, now=START)["hold_seconds"] is None


def held_snapshots(description="hold=86400s once verified; vpsorg.cloud.patch_with_rollback run r1"):
    return {"results": [{"server_id": 101, "changed": True,
                         "snapshot": dict(snap(801, 101, "pre-patch-r1"), description=description)}]}


def test_cleanup_hold_keeps_the_snapshot_says_until_when_and_names_it_in_the_ledger():
    entry = record(PATCHED_VARS, snapshots=held_snapshots(), cleaned={}, settings={"cleanup": "hold", "hold": "24h"})
    assert entry["status"] == "patched" and entry["snapshot_kept"] is True
    # The hold runs from the snapshot's created_at (2026-11-01T00:00:00Z), on the API's clock.
    assert entry["held_until"] == "2026-11-02T00:00:00Z"
    assert entry["message"] == ("Patched and verified. Its snapshot is held until 2026-11-02T00:00:00Z, for an undo "
                                "(vpsorg.cloud.rollback_run).")
    assert logic.ledger_targets({"web": entry}, SETTINGS) == [{"host": "web", "name": "pre-patch-r1", "status": "patched"}]
    report = {"run_id": "r1", "dry_run": False, "generated_at": "x", "statuses": {"patched": 1}, "hosts": {"web": entry}}
    assert logic.published_report(report, 7)["hosts"]["web"]["held_until"] == "2026-11-02T00:00:00Z"
    assert "snapshot pre-patch-r1 (id 801) held until 2026-11-02T00:00:00Z" in logic.summary_lines(report, "r.json")[1]


def test_held_until_is_the_snapshots_own_hold_not_the_settings():
    # A snapshot reused from an earlier attempt of the run id, taken with another hold, or with none.
    other = record(PATCHED_VARS, snapshots=held_snapshots("hold=3600s once verified; run r1"), cleaned={},
                   settings={"cleanup": "hold", "hold": "24h"})
    assert other["held_until"] == "2026-11-01T01:00:00Z"
    none = record(PATCHED_VARS, snapshots=held_snapshots("vpsorg.cloud.patch_with_rollback run r1"), cleaned={},
                  settings={"cleanup": "hold", "hold": "24h"})
    assert none["held_until"] is None and none["snapshot_kept"] is True
    assert none["message"].endswith("Its snapshot is kept, but holds no hold (it was taken by an earlier attempt of this "
                                    "run id without one): nothing keeps rotation or a prune from deleting it.")
    # A hold whose start cannot be read never runs out for the collection: the record says so.
    unreadable = held_snapshots()
    unreadable["results"][0]["snapshot"]["created_at"] = "yesterday"
    forever = record(PATCHED_VARS, snapshots=unreadable, cleaned={}, settings={"cleanup": "hold", "hold": "24h"})
    assert forever["held_until"] is None and "no rotation of the collection will ever delete it" in forever["message"]


def test_a_snapshot_only_run_takes_no_hold():
    settings = {"max_fail_percentage": 0, "cleanup": "hold", "hold": "1d", "snapshot_only": True}
    planned = logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"], settings, now=START)
    assert planned["hold_seconds"] is None and planned["stop"] is None
    settings["hold"] = ""
    assert logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"], settings, now=START)["stop"] is None


def test_a_held_snapshot_of_an_earlier_run_is_not_rotated_and_can_leave_no_room():
    held = dict(snap(5, 101, "pre-patch-old", "2999-01-01T00:00:00Z"), description="hold=86400s once verified")
    snapshots = [snap(i, 101, "manual-%d" % i, "2026-11-0%dT00:00:00Z" % i) for i in range(1, 5)] + [held]
    probe = {"changed": False, "stdout_lines": ["pre-patch-old"]}
    judgement = judge({"web": {"__patch_with_rollback_probe": probe}}, snapshots, settings={"rotate_keep": 1})
    assert judgement["held_snapshots"] == ["pre-patch-old"] and judgement["rotation_would_delete"] == []
    assert judgement["room"] is False and not judgement["passed"]
    assert judgement["problems"][0].endswith(
        "; pre-patch-old is under the hold of an earlier run, which no rotation deletes. Wait until the hold runs "
        "out, undo that run (which deletes the snapshots it puts back), or delete a snapshot by hand.")
    # Every held snapshot in the way is named, also when rotation would not have been the one to delete it.
    off = judge({"web": {"__patch_with_rollback_probe": probe}}, snapshots, settings={"rotate": False})
    assert "; pre-patch-old is under the hold of an earlier run" in off["problems"][0]


def test_the_preflight_is_handed_every_starting_hosts_probe_and_a_missing_one_is_an_error():
    the_wave = wave({"web": 101, "db": 102})
    probes = {"web": PROBE_OK, "db": PROBE_DOWN}
    assert logic.unreachable_servers(the_wave, probes) == [102]
    assert logic.listing_scope(the_wave) is None
    assert logic.listing_scope(wave({"web": 101})) == 101
    judged = logic.judge_preflight(the_wave, probes, {"snapshots": []}, {102: {"server": {"status": "stopped"}}}, SETTINGS)
    assert judged["web"]["passed"] and not judged["db"]["passed"]
    assert judged["db"]["problems"][0] == "Server 102 is stopped, not running."
    with pytest.raises(ValueError, match="no probe result for db: every starting host's is needed"):
        logic.judge_preflight(the_wave, {"web": PROBE_OK}, {"snapshots": []}, {}, SETTINGS)


def test_the_tasks_each_host_missed_in_its_patch_are_read_once_for_the_wave():
    records = {"a": [{"task": "x"}, {"task": "Upgrade"}], "b": [{"task": "x"}], "c": []}
    assert logic.missed_by_host(records, {"a": 1, "b": 1, "c": None}) == {"a": [{"task": "Upgrade"}], "b": [], "c": []}


def test_the_end_of_the_patch_names_the_tasks_each_host_missed_and_the_hosts_to_verify():
    records = {"a": [{"task": "x"}], "b": [{"task": "x"}, {"task": "Upgrade"}], "c": [], "d": [], "e": []}
    seen = {"a": 1, "b": 1, "c": 0, "d": 0, "e": 0}
    failures = {"c": {"phase": "patch", "cause": "apt failed"}, "a": None, "e": None}
    # a: verified (its old entry is not the patch's); b: a task missed it; c: failed; d: never patched.
    assert logic.patch_end(["e", "c", "b", "a"], failures, records, seen) == {
        "missed": {"a": [], "b": [{"task": "Upgrade"}], "c": [], "d": [], "e": []}, "verify": ["a", "e"]}
    assert logic.patch_end([], {}, records, seen)["verify"] == []


def test_the_hosts_that_passed_go_on_to_the_quiesce_unless_the_run_is_dry():
    preflight = {"b": {"passed": True}, "a": {"passed": True}, "c": {"passed": False}}
    assert logic.quiescing(wave({"a": 1, "b": 2, "c": 3}), preflight) == ["a", "b"]
    assert logic.quiescing(wave({"a": 1, "b": 2, "c": 3}, dry_run=True), preflight) == []


def test_the_wave_says_what_its_clean_up_deletes():
    def cleanup(**settings):
        return logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"],
                               dict({"max_fail_percentage": 0, "run_id": "r1", "prefix": "pre-patch-"}, **settings),
                               now=START)["cleanup"]
    assert cleanup() == {"name": "pre-patch-r1"}
    assert cleanup(cleanup="keep_newest", cleanup_keep="3") == {"rotate": {"prefix": "pre-patch-", "keep": 3}}
    assert cleanup(cleanup="keep") == {} and cleanup(cleanup="hold", hold="1h") == {}


def test_a_snapshot_is_taken_for_a_host_that_passed_and_whose_quiesce_reached_it():
    the_wave = wave({"a": 1, "b": 2, "c": 3, "d": 4}, seen=1)
    preflight = {"a": {"passed": True}, "b": {"passed": True}, "c": {"passed": True}, "d": {"passed": False}}
    records = {"a": [{"task": "old"}], "b": [{"task": "old"}], "c": [{"task": "old"}, {"task": "Stop the services"}]}
    assert logic.snapshot_takers(the_wave, preflight, {"b": "Quiesce: the service would not stop", "a": None},
                                 records) == ["a"]
    # A play whose strategy keeps no record (seen None) loses no host.
    assert logic.snapshot_takers(wave({"c": 3}, seen=None), {"c": {"passed": True}}, {}, records) == ["c"]
    # A dry run takes no snapshot: the snapshot step and the deprecated selection read it from here alone.
    assert logic.snapshot_takers(wave({"a": 1}, dry_run=True), {"a": {"passed": True}}, {}, {}) == []


def test_of_the_snapshot_takers_a_host_is_patched_when_its_snapshot_completed_and_its_thaw_ended_well():
    the_wave = wave({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    done = {"snapshot": {"id": 9, "status": "completed"}}
    snapshots = {"takers": ["a", "b", "c", "d"], "results": [
        dict(done, server_id=1), dict(done, server_id=2), dict(done, server_id=3),
        {"server_id": 4, "failed": True, "snapshot": {"id": 10, "status": "error"}}, dict(done, server_id=5)]}
    records = {"c": [{"task": "Start the services"}]}
    assert logic.patchers(the_wave, snapshots, {"b": "Thaw: failed"}, records) == ["a"]
    assert logic.patchers(wave({"a": 1}, dry_run=True), snapshots, {}, {}) == []
    assert logic.patchers(dict(the_wave, snapshot_only=True), snapshots, {}, {}) == []
    # A step that failed before saying who it took patches nobody.
    assert logic.patchers(the_wave, {"failed": True, "msg": "boom"}, {}, {}) == []


def test_a_host_is_verified_when_nothing_failed_or_missed_it_and_its_fresh_connection_was_made():
    made = {"changed": False, "elapsed": 1}
    connections = {"a": made, "b": made, "c": made, "d": {"failed": True}, "e": {"skipped": True}, "f": {}, "g": made}
    assert logic.verified_hosts(["a", "b", "c", "d", "e", "f", "h"], {"b": {"phase": "verify", "cause": "x"}},
                                {"c": [{"task": "Upgrade"}], "a": []}, connections) == ["a"]
    # Only a host that was patched: g connected, but was never patched.
    assert logic.verified_hosts([], {}, {}, connections) == []


def test_a_failure_is_the_rescues_record_or_a_patch_cut_short():
    kept = {"phase": "verify", "cause": "The host did not answer"}
    assert logic.failure_of(kept, [{"task": "Upgrade"}], 5.0) is kept
    cut = logic.failure_of(None, [{"task": "Upgrade", "message": "gone"}], 5.0)
    assert cut["phase"] == "patch" and cut["unreachable_tasks"] == ["Upgrade"] and cut["at"] == 5.0
    assert logic.failure_of(None, [], 5.0) is None
