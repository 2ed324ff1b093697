"""The wave's decisions at the edges a hand mutation pass found unpinned: the gate, the preflight, the records."""

from __future__ import annotations

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_steps
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic
from ansible_collections.vpsorg.cloud.tests.unit.plugins.plugin_utils.test_patch_with_rollback import (
    CLEANED,
    PATCHED_VARS,
    PROBE_DOWN,
    PROBE_OK,
    SETTINGS,
    SNAPSHOTS,
    START,
    judge,
    record,
    snap,
    wave,
)


def earlier_wave(statuses, number=1):
    """Host variables holding one earlier wave's records, as "Record the wave" sets them on each of its hosts."""
    records = dict((host, {"host": host, "run_id": "r1", "wave": number, "status": status}) for host, status in statuses.items())
    return dict((host, {"patch_with_rollback_records": records}) for host in statuses)


# ------------------------------------------------------------------ the wave

def test_a_max_fail_percentage_of_100_starts_the_next_wave_after_a_wave_that_all_failed():
    hostvars = dict(earlier_wave({"b": "rolled_back"}), a={"vpsorg_server_id": 1})
    planned = logic.plan_wave(hostvars, ["b", "a"], ["a"], {"max_fail_percentage": 100}, now=START)
    assert planned["stop"] is None and planned["starting"] == ["a"] and planned["hosts"]["a"]["starts"] is True


def test_the_first_wave_is_wave_1():
    planned = logic.plan_wave({"a": {"vpsorg_server_id": 1}}, ["a"], ["a"], {"max_fail_percentage": 0}, now=START)
    assert planned["number"] == 1


def test_the_wave_number_follows_the_last_wave_not_the_count_of_earlier_hosts():
    hostvars = dict(earlier_wave({"x": "patched", "y": "patched", "z": "patched"}), a={"vpsorg_server_id": 1})
    planned = logic.plan_wave(hostvars, ["x", "y", "z", "a"], ["a"], {"max_fail_percentage": 0}, now=START)
    assert planned["number"] == 2 and planned["run_id"] == "r1"


def test_a_wave_stopped_by_the_gate_lists_no_starting_host():
    hostvars = dict(earlier_wave({"b": "rolled_back"}), a={"vpsorg_server_id": 1})
    planned = logic.plan_wave(hostvars, ["b", "a"], ["a"], {"max_fail_percentage": 0}, now=START)
    assert planned["stop"].startswith("Not started: in wave 1, 1 of 1 hosts did not end patched (b)")
    assert planned["hosts"]["a"]["starts"] is False and planned["starting"] == []


def test_the_gate_counts_the_failed_share_of_the_last_wave_alone():
    earlier = [{"host": "a", "wave": 1, "status": "patched"}, {"host": "b", "wave": 1, "status": "patched"},
               {"host": "c", "wave": 2, "status": "patched"}, {"host": "d", "wave": 2, "status": "rolled_back"}]
    # 1 of the last wave's 2 is 50 %, over the 40 % allowed; over all four earlier hosts it would be 25 %.
    assert logic.gate(earlier, 40, False) == (
        "Not started: in wave 2, 1 of 2 hosts did not end patched (d), more than the 40% allowed "
        "(patch_with_rollback_max_fail_percentage); later waves were not started.")


# ------------------------------------------------------------- the preflight

UNRESOLVED_R0 = ("Refused: snapshot pre-patch-r0 (id 7, taken 2026-11-01T00:00:00Z) is left by an earlier run of this "
                 "role that did not end patched (rolled back, failed or interrupted); this host is not patched again until "
                 "you say it is resolved.")


def test_a_host_whose_record_of_finished_runs_cannot_be_read_is_not_judged_on_its_snapshots():
    # Without the record, every snapshot of the role would look unresolved: the unreadable record is the one problem.
    probe = {"failed": True, "msg": "cat: /var/lib/x: Permission denied", "stdout_lines": []}
    judgement = judge({"web": {"__patch_with_rollback_probe": probe}}, [snap(7, 101, "pre-patch-r0")],
                      settings={"package_manager_files": ["/usr/bin/apt-get"]})
    assert judgement["problems"] == ["The host's record of finished runs (/var/lib/x) could not be read: cat: /var/lib/x: Permission denied"]
    assert judgement["verdict"] == "not_patched" and judgement["unresolved_snapshots"] == [] and "manual_step" not in judgement


def test_a_host_refused_for_an_unresolved_snapshot_is_not_also_refused_for_room():
    snapshots = [snap(i, 101, "manual-%d" % i, "2026-10-0%dT00:00:00Z" % i) for i in range(1, 5)] + [snap(7, 101, "pre-patch-r0")]
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, snapshots)
    assert judgement["problems"] == [UNRESOLVED_R0]
    assert judgement["room"] is None and judgement["rotation_would_delete"] == [] and judgement["verdict"] == "unresolved"


def test_a_host_marked_resolved_but_refused_for_another_reason_is_not_patched_not_unresolved():
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, [snap(7, 101, "pre-patch-r0")],
                      settings={"resolved_hosts": ["web"], "report_problem": "The report cannot be written to /x/r.json: ..."})
    assert judgement["problems"] == ["The report cannot be written to /x/r.json: ..."]
    assert judgement["verdict"] == "not_patched" and "manual_step" not in judgement
    assert judgement["marked_resolved"] == ["pre-patch-r0"]


def test_unresolved_snapshots_are_listed_oldest_first_and_the_restore_step_names_the_newest():
    snapshots = [snap(8, 101, "pre-patch-r2", "2026-11-02T00:00:00Z"), snap(7, 101, "pre-patch-r0", "2026-11-01T00:00:00Z")]
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, snapshots)
    assert [s["id"] for s in judgement["unresolved_snapshots"]] == [7, 8]
    assert judgement["problems"][0].startswith("Refused: snapshot pre-patch-r0 (id 7, taken 2026-11-01T00:00:00Z), "
                                               "snapshot pre-patch-r2 (id 8, taken 2026-11-02T00:00:00Z) are left")
    assert judgement["manual_step"].endswith(" To go back to the snapshot instead: ansible-playbook -i inv vpsorg.cloud.restore "
                                             "-e target=web -e snapshot_id=8")


def test_only_the_hosts_own_servers_snapshots_count_as_held():
    hold = "hold=86400s once verified"
    snapshots = [dict(snap(9, 102, "pre-patch-elsewhere", "2999-01-01T00:00:00Z"), description=hold),
                 dict(snap(5, 101, "pre-patch-mine", "2999-01-01T00:00:00Z"), description=hold)]
    probe = dict(PROBE_OK, stdout_lines=["pre-patch-mine"])
    judgement = judge({"web": {"__patch_with_rollback_probe": probe}}, snapshots)
    assert judgement["held_snapshots"] == ["pre-patch-mine"] and judgement["snapshots"] == 1


def test_an_unreachable_host_without_a_server_id_is_no_server_to_read():
    the_wave = wave({"web": None, "db": 102})
    assert logic.unreachable_servers(the_wave, {"web": PROBE_DOWN, "db": PROBE_DOWN}) == [102]


def test_only_a_host_that_passed_writes_the_runs_it_resolved_to_its_record():
    preflight = {"web": {"passed": False, "marked_resolved": ["pre-patch-r0"]},
                 "db": {"passed": True, "marked_resolved": ["pre-patch-r9"]}}
    assert logic.ledger_entries(preflight) == [{"host": "db", "name": "pre-patch-r9", "status": "resolved"}]


def test_marking_another_host_resolved_leaves_this_host_unresolved():
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, [snap(7, 101, "pre-patch-r0")],
                      settings={"resolved_hosts": ["db"]})
    assert judgement["problems"] == [UNRESOLVED_R0]
    assert judgement["verdict"] == "unresolved" and judgement["marked_resolved"] == []


def test_a_re_run_that_reuses_its_snapshot_has_room_on_a_full_server():
    snapshots = [snap(i, 101, "manual-%d" % i, "2026-11-0%dT00:00:00Z" % i) for i in range(1, 5)] + [snap(5, 101, "pre-patch-r1")]
    judgement = judge({"web": {"__patch_with_rollback_probe": PROBE_OK}}, snapshots)
    assert judgement["passed"] is True and judgement["room"] is True and judgement["rotation_would_delete"] == []


# ------------------------------------------------------------- the snapshot

def test_a_failed_snapshot_entry_patches_nothing_even_with_its_snapshot_completed():
    # The fleet task failed for the server after the snapshot completed (its rotation, say): no patch on a failed step.
    snapshots = {"takers": ["a"], "results": [{"server_id": 1, "failed": True, "msg": "HTTP 500 deleting 3",
                                               "snapshot": {"id": 9, "status": "completed"}}]}
    assert logic.patchers(wave({"a": 1}), snapshots, {}, {}) == []


def test_a_snapshot_still_in_progress_patches_nothing_and_is_left():
    snapshots = {"results": [{"server_id": 101, "changed": True, "snapshot": snap(801, 101, "pre-patch-r1", status="in_progress")}]}
    entry = record(PATCHED_VARS, snapshots=snapshots)
    assert entry["status"] == "not_patched" and entry["snapshot_kept"] is True
    assert entry["cause"] == "Take the snapshot: no snapshot was taken (last seen in_progress)"
    assert entry["message"] == ("Not patched: Take the snapshot: no snapshot was taken (last seen in_progress) The snapshot "
                                "pre-patch-r1 (id 801) is left; nothing was patched.")


def test_a_failed_quiesce_keeps_the_snapshot_taken_and_a_failed_snapshot_keeps_none():
    quiesced = record({"__patch_with_rollback_quiesce_failure": "Stop the services: nginx is unknown"})
    assert quiesced["status"] == "not_patched" and quiesced["snapshot_kept"] is True and quiesced["snapshot_id"] == 801
    failed = {"failed": True, "msg": "boom", "results": [{"server_id": 101, "failed": True, "msg": "HTTP 500", "snapshot": None}]}
    nothing = record({}, snapshots=failed)
    assert nothing["status"] == "not_patched" and nothing["snapshot_kept"] is False and nothing["snapshot_id"] is None


# -------------------------------------------------------------- the records

def test_a_host_never_started_has_no_phase_times_and_no_snapshot_name():
    stopped = record({}, the_wave=wave({"web": 101}, stop="Not started: x"))
    assert stopped["status"] == "not_started" and stopped["snapshot_name"] is None
    # Its total runs to the preflight's mark (START + 1), with no phase of its own.
    assert stopped["durations"] == {"preflight": None, "snapshot": None, "patch": None, "verify": None, "rollback": None,
                                    "cleanup": None, "total": 1.0}


def test_a_dry_run_refusal_says_it_would_not_patch():
    dry = record({}, the_wave=wave({"web": 101}, dry_run=True), preflight={"web": {"passed": False, "problems": ["No."]}})
    assert dry["status"] == "not_patched" and dry["message"] == "Dry run: would not patch. No." and dry["cause"] == "No."


def test_a_failed_verification_times_the_patch_to_its_mark_and_the_total_to_the_rollback():
    failure = {"phase": "verify", "cause": "Check: 503", "unreachable_tasks": [], "at": START + 14}
    entry = record(dict(PATCHED_VARS, __patch_with_rollback_failure=failure,
                        __patch_with_rollback_rollback={"status": "rolled_back", "at": START + 30}))
    assert entry["status"] == "rolled_back" and entry["failed_phase"] == "verify"
    assert entry["durations"] == {"preflight": 1.0, "snapshot": 10.0, "patch": 1.0, "verify": 2.0, "rollback": 16.0,
                                  "cleanup": None, "total": 30.0}


def test_a_clean_up_that_did_not_run_keeps_the_snapshot_and_says_so():
    entry = record(PATCHED_VARS, cleaned={})
    assert entry["status"] == "patched" and entry["snapshot_kept"] is True
    assert entry["message"] == ("Patched and verified. Cleaning up the snapshots failed (the clean-up did not run); delete "
                                "what is no longer needed with vpsorg.cloud.prune_snapshots.")
    assert logic.ledger_targets({"web": entry}, SETTINGS) == [{"host": "web", "name": "pre-patch-r1", "status": "patched"}]


def test_without_a_cleanup_setting_the_verified_hosts_snapshot_is_deleted():
    snapshot = SNAPSHOTS["results"][0]["snapshot"]
    assert logic._cleanup_outcome(101, snapshot, CLEANED, {}) == {"kept": False}
    assert logic._cleanup_outcome(101, snapshot, CLEANED, {"cleanup": "keep"}) == {"kept": True}


def test_another_servers_failed_clean_up_is_not_this_hosts_error():
    cleaned = {"failed": True, "msg": "1 of 2 servers failed",
               "results": [CLEANED["results"][0], {"server_id": 102, "failed": True, "msg": "HTTP 500", "deleted_snapshots": []}]}
    entry = record(PATCHED_VARS, cleaned=cleaned)
    assert entry["status"] == "patched" and entry["snapshot_kept"] is False and entry["message"] == "Patched and verified."


def test_a_snapshot_only_host_names_its_snapshot_in_its_record_of_finished_runs():
    only = record({}, settings={"snapshot_only": True})
    assert logic.ledger_targets({"web": only}, SETTINGS) == [{"host": "web", "name": "pre-patch-r1", "status": "snapshot_only"}]


def test_a_patched_host_whose_snapshot_was_deleted_is_not_a_ledger_target():
    entry = record(PATCHED_VARS)
    assert entry["snapshot_kept"] is False and entry["snapshot_id"] == 801
    assert logic.ledger_targets({"web": entry}, SETTINGS) == []


def test_another_hosts_failed_ledger_write_is_not_named_on_this_host():
    ledger = {"results": [{"item": {"host": "db", "name": "pre-patch-r1"}, "failed": True, "msg": "disk full"},
                          {"item": {"host": "web", "name": "pre-patch-r1"}, "changed": True}]}
    entry = record(PATCHED_VARS, settings={"cleanup": "keep"}, ledger=ledger)
    assert entry["status"] == "patched" and entry["message"] == "Patched and verified."


def test_a_failed_ledger_write_is_named_on_a_snapshot_only_host():
    ledger = {"results": [{"item": {"host": "web", "name": "pre-patch-r1"}, "failed": True, "msg": "disk full"}]}
    only = record({}, settings={"snapshot_only": True}, ledger=ledger)
    assert only["status"] == "snapshot_only"
    assert only["message"] == ("Snapshot pre-patch-r1 (id 801) taken; nothing was patched, as asked. Recording this on the "
                               "host failed (disk full), so the next run will refuse the host until you mark it resolved.")


# -------------------------------------------------------------- the report

def test_an_undo_report_is_an_undo_even_with_a_host_never_started():
    undone = {"host": "web", "run_id": "r1", "status": "undone", "undo": True, "snapshot_kept": False}
    report = logic.build_report({}, ["web", "db"], {"web": undone}, {"check_mode": False}, now=0)
    assert report["undo"] is True and report["statuses"] == {"undone": 1, "not_started": 1}
    assert logic.summary_lines(report, "/r.json")[0] == "Undo of patch_with_rollback run r1: 1 undone, 1 not_started. Report: /r.json"


# ------------------------------------------------------------- the rollback

def test_a_restored_host_that_failed_its_checks_without_words_is_still_unhealthy():
    # None alone says the checks passed; an empty reason is still a failed check.
    assert patch_steps.rollback_outcome({"changed": True}, {"skipped": True}, "", now=1.0) == {
        "status": "restored_unhealthy", "error": "", "at": 1.0}
