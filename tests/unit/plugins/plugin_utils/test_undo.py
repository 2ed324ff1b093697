"""The undo of a run (playbook vpsorg.cloud.rollback_run) on its own: refusals, the plan, the waves, the records."""

from __future__ import annotations

import json

import pytest

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import undo
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.statuses import ends_failed

NAME = "pre-patch-c1"


def snap(object_id, server_id, name=NAME, status="completed", created_at="2026-12-05T10:00:00Z"):
    return {"id": object_id, "server": {"id": server_id, "name": "s"}, "name": name, "status": status,
            "created_at": created_at, "description": "hold=86400s once verified; run c1"}


def reads(**statuses):
    return {"results": [{"item": int(server_id[1:]), "server": {"id": int(server_id[1:]), "status": status}}
                        for server_id, status in statuses.items()]}


def probe(record=None):
    return {"changed": False, "stdout": json.dumps(record) + "\n" if record else ""}


UNDONE = probe({"snapshot_name": NAME, "status": "undone", "recorded_at": "2026-12-06T08:00:00Z"})
# What the role wrote on a host it left patched with its snapshot kept (cleanup hold).
PATCHED = probe({"snapshot_name": NAME, "status": "patched", "recorded_by_run": "c1"})
LISTING = {"snapshots": [snap(801, 101), snap(802, 102), snap(900, 102, "nightly-1")]}


def plan(servers=None, listing=None, probes=None, statuses=None, forced=None):
    return undo.plan("c1", "pre-patch-", servers or {"web-01": 101, "web-02": "102"}, LISTING if listing is None else listing,
                     probes or {"web-01": PATCHED, "web-02": PATCHED},
                     reads(**(statuses or {"s101": "running", "s102": "stopped"})), forced)


def test_a_missing_run_id_or_a_pattern_matching_no_host_is_refused_before_anything():
    assert undo.input_problem("c1", "web", ["web-01"]) is None
    assert undo.input_problem("", "web", ["web-01"]).startswith("rollback_run_id must be the id of the run to undo")
    assert undo.input_problem("c1; rm -rf /", "web", ["web-01"]).startswith("rollback_run_id must be")
    assert undo.input_problem("c1", "db-*", []) == (
        "The host pattern 'db-*' (rollback_run_hosts) matches no host of the inventory: name the hosts or groups to put "
        "back, for example web-01:web-02 or web.")


def test_each_host_is_restored_from_its_own_servers_snapshot_of_the_run():
    planned = plan()
    assert planned["refusals"] == [] and planned["snapshot_name"] == NAME
    assert {h: (e["action"], e["server_id"], e["snapshot"]["id"]) for h, e in planned["hosts"].items()} == {
        "web-01": ("restore", 101, 801), "web-02": ("restore", 102, 802)}


def test_an_unknown_run_id_is_refused():
    planned = undo.plan("c9", "pre-patch-", {"web-01": 101}, LISTING, {"web-01": PATCHED}, reads(s101="running"))
    assert planned["refusals"][0] == ("Run c9 is unknown: no snapshot of the account is named pre-patch-c9, and no host "
                                      "says an undo of it already happened. Check rollback_run_id against the run's "
                                      "report (run_id).")


def test_a_host_whose_snapshot_is_gone_refuses_the_whole_undo():
    planned = plan(listing={"snapshots": [snap(801, 101)]})
    assert planned["hosts"]["web-01"]["action"] == "restore"
    assert planned["refusals"] == ["web-02: server 102 has no snapshot pre-patch-c1: it was deleted, or the run never "
                                   "took one there."]
    down = plan(listing={"snapshots": [snap(801, 101)]}, probes={"web-01": PATCHED, "web-02": {"unreachable": True}})
    assert down["refusals"] == planned["refusals"]


def test_a_snapshot_not_completed_or_a_host_without_server_id_is_refused():
    planned = plan(servers={"web-01": 101, "web-02": "x"}, listing={"snapshots": [snap(801, 101, status="in_progress")]})
    assert planned["refusals"] == ["web-01: snapshot pre-patch-c1 (id 801) is in_progress, not completed.",
                                   "web-02 has no VPS.org server id (vpsorg_server_id)."]


def test_a_failed_listing_refuses_the_undo():
    planned = plan(listing={"failed": True, "msg": "HTTP 503 "})
    assert planned["refusals"] == ["The account's snapshots could not be listed: HTTP 503"] and planned["hosts"] == {}


def test_a_host_already_undone_from_the_snapshot_is_left_as_it_is_even_once_the_snapshot_is_gone():
    planned = plan(listing={"snapshots": [snap(802, 102)]}, probes={"web-01": UNDONE, "web-02": PATCHED})
    assert planned["refusals"] == []
    assert planned["hosts"]["web-01"]["action"] == "already_undone"
    # The record is read out of whatever else the shell printed around it.
    noisy = {"stdout": "sudo: unable to resolve host web-01\r\n" + PATCHED["stdout"].replace("\n", "\r\n")}
    assert plan(probes={"web-01": noisy, "web-02": PATCHED})["hosts"]["web-01"]["action"] == "restore"
    # Every host of the pattern undone and every snapshot gone: the run is known, the re-run does nothing.
    again = plan(listing={"snapshots": []}, probes={"web-01": UNDONE, "web-02": UNDONE})
    assert again["refusals"] == [] and {e["action"] for e in again["hosts"].values()} == {"already_undone"}


@pytest.mark.parametrize("status", ["error", "restoring", "provisioning", None])
def test_a_server_neither_running_nor_stopped_is_left_alone_and_named(status):
    planned = plan(statuses={"s101": status, "s102": "running"})
    entry = planned["hosts"]["web-01"]
    assert planned["refusals"] == [] and entry["action"] == "left_alone"
    assert entry["reason"] == ("Left alone: server 101 is %s; the API restores a server that is running or stopped."
                               % (status or "unreadable"))
    assert undo.servers_to_read({"a": 101, "b": "101", "c": "x", "d": 0, "e": True}) == [101]


@pytest.mark.parametrize("record,says", [
    (probe(), "its record of finished runs does not name snapshot pre-patch-c1: the run did not leave it patched"),
    ({"unreachable": True, "msg": "timed out"}, "its record of finished runs could not be read"),
    ({"stdout": "cat: permission denied"}, "its record of finished runs could not be read"),
    (probe({"snapshot_name": NAME, "status": "resolved"}), "its record of finished runs says resolved, not patched"),
    (probe({"snapshot_name": "pre-patch-c0", "status": "patched"}), "its record of finished runs does not name"),
])
def test_a_host_is_restored_only_when_its_record_says_the_run_left_it_patched(record, says):
    planned = plan(probes={"web-01": record, "web-02": PATCHED})
    assert len(planned["refusals"]) == 1 and planned["refusals"][0].startswith("web-01: " + says)
    assert planned["refusals"][0].endswith("Leave it out of rollback_run_hosts, or list it in rollback_run_force_hosts "
                                           "to restore it anyway.")
    # The operator can say it is to be restored all the same.
    assert plan(probes={"web-01": record, "web-02": PATCHED}, forced=["web-01"])["refusals"] == []


def test_an_undo_that_would_also_undo_a_later_run_is_refused():
    later = snap(803, 101, "pre-patch-c2", created_at="2026-12-05T20:00:00Z")
    foreign = snap(804, 101, "nightly-1", created_at="2026-12-05T21:00:00Z")
    earlier = snap(806, 101, "pre-patch-c0", created_at="2026-12-04T20:00:00Z")
    planned = plan(listing={"snapshots": LISTING["snapshots"] + [later, foreign, earlier]})
    assert planned["refusals"] == ["web-01: server 101 has pre-patch-c2, taken after snapshot pre-patch-c1: restoring "
                                   "it would also undo that later run. Undo the newest run first."]
    # A later run under way, or one whose time cannot be read, counts as later too.
    for odd in (dict(later, status="in_progress"), dict(later, created_at="soon")):
        assert plan(listing={"snapshots": LISTING["snapshots"] + [odd]})["refusals"][0].startswith(
            "web-01: server 101 has pre-patch-c2, taken after")


def test_two_snapshots_of_the_name_or_two_hosts_on_one_server_are_refused():
    twice = plan(listing={"snapshots": LISTING["snapshots"] + [snap(805, 101, status="failed")]})
    assert twice["refusals"] == ["web-01: server 101 has 2 snapshots named pre-patch-c1; which one the run took cannot "
                                 "be told."]
    shared = plan(servers={"web-01": 101, "web-02": 102, "db-01": "101"},
                  probes={"web-01": PATCHED, "web-02": PATCHED, "db-01": PATCHED})
    assert shared["refusals"] == [
        "db-01: server 101 is also web-01's; one restore would undo every host on it. List each server once.",
        "web-01: server 101 is also db-01's; one restore would undo every host on it. List each server once."]


def wave_of(batch, earlier=None, check_mode=False, planned=None):
    hostvars = {host: {"patch_with_rollback_records": {host: record}} for host, record in (earlier or {}).items()}
    return undo.wave(hostvars, sorted(set(batch) | set(earlier or {})), batch, planned or plan(), check_mode, now=50.0)


def test_a_wave_restores_its_hosts_to_restore_unless_an_earlier_undo_failed():
    assert wave_of(["web-01"]) == {"number": 1, "stop": None, "started_at": 50.0, "dry_run": False,
                                   "batch": ["web-01"], "restoring": ["web-01"]}
    ok = wave_of(["web-02"], {"web-01": {"host": "web-01", "wave": 1, "status": "undone"}})
    assert ok["number"] == 2 and ok["restoring"] == ["web-02"]
    # A host left alone was not tried: it stops nothing.
    alone = wave_of(["web-02"], {"web-01": {"host": "web-01", "wave": 1, "status": "left_alone"}})
    assert alone["restoring"] == ["web-02"]
    for failed in ("undo_failed", "undo_unhealthy", "not_started"):
        stopped = wave_of(["web-02"], {"web-01": {"host": "web-01", "wave": 1, "status": failed}})
        assert stopped["restoring"] == [] and stopped["stop"] == (
            "Not started: the undo of web-01 failed in an earlier wave (%s), so later waves were not started." % failed)
    assert wave_of(["web-01", "web-02"], check_mode=True)["restoring"] == []


def record_of(host="web-01", outcome=None, this_wave=None, planned=None, forgotten=None):
    this_wave = this_wave or {"number": 1, "stop": None, "started_at": 50.0, "dry_run": False, "restoring": [host]}
    return undo.record(host, planned or plan(), this_wave, outcome, forgotten or {}, "-i inv")


def test_the_records_of_an_undo():
    done = record_of(outcome={"status": "rolled_back", "at": 62.5})
    assert (done["status"], done["undo"], done["snapshot_id"], done["snapshot_kept"], done["cause"]) == (
        "undone", True, 801, True, None)
    assert done["message"] == "Restored from snapshot pre-patch-c1 (id 801) and verified."
    assert done["durations"] == {"rollback": 12.5, "total": 12.5} and done["ended_at"] == "1970-01-01T00:01:02Z"
    unhealthy = record_of(outcome={"status": "restored_unhealthy", "error": "no sshd", "at": 60.0})
    assert unhealthy["status"] == "undo_unhealthy" and unhealthy["cause"] == "no sshd"
    assert "Do not restore again" in unhealthy["message"] and "provider's console" in unhealthy["manual_step"]
    failed = record_of(outcome={"status": "rollback_failed", "error": "HTTP 400", "server_status": "error", "at": 60.0})
    assert failed["status"] == "undo_failed" and failed["server_status"] == "error"
    assert failed["manual_step"] == "ansible-playbook -i inv vpsorg.cloud.restore -e target=web-01 -e snapshot_id=801"
    lost = record_of(outcome={"status": "rollback_failed", "error": "HTTP 400", "at": 60.0},
                     forgotten={"unreachable": True, "msg": "ssh: timed out"})
    assert lost["message"].endswith("Its record of finished runs could not be changed (ssh: timed out) and may still "
                                    "say the run needed no rollback: the role would then take this snapshot as resolved.")
    # A restore that left no outcome did not provably happen.
    assert record_of(outcome=None)["status"] == "undo_failed"
    assert [ends_failed(r["status"]) for r in (done, unhealthy, failed)] == [False, True, True]


def test_the_records_of_hosts_not_restored():
    dry = record_of(this_wave={"number": 1, "stop": None, "started_at": 50.0, "dry_run": True, "restoring": []})
    assert dry["status"] == "would_undo" and dry["dry_run"] is True
    assert dry["message"] == "Dry run: would restore server 101 from snapshot pre-patch-c1 (id 801)."
    stopped = record_of(this_wave={"number": 2, "stop": "Not started: x", "started_at": 50.0, "dry_run": False,
                                   "restoring": []})
    assert (stopped["status"], stopped["cause"]) == ("not_started", "Not started: x")
    alone = record_of(planned=plan(statuses={"s101": "error", "s102": "running"}))
    assert alone["status"] == "left_alone" and alone["cause"].startswith("Left alone: server 101 is error")
    again = record_of(planned=plan(probes={"web-01": UNDONE, "web-02": PATCHED}))
    assert again["status"] == "already_undone" and again["cause"] is None and not ends_failed("already_undone")


def test_only_verified_hosts_whose_undo_is_recorded_on_them_lose_their_snapshot():
    records = {"web-01": record_of(outcome={"status": "rolled_back", "at": 60.0}),
               "web-02": record_of("web-02", outcome={"status": "rolled_back", "at": 60.0}),
               "web-03": dict(record_of(outcome={"status": "restored_unhealthy", "at": 60.0}), host="web-03")}
    assert undo.ledger_targets(records) == [{"host": "web-01", "name": NAME, "status": "undone"},
                                            {"host": "web-02", "name": NAME, "status": "undone"}]
    ledger = {"results": [{"item": {"host": "web-01"}, "changed": True},
                          {"item": {"host": "web-02"}, "unreachable": True, "msg": "gone"}]}
    assert undo.cleanup_servers(records, ledger) == [101]
    cleanup = {"results": [{"server_id": 101, "deleted_snapshots": [{"id": 801}]}]}
    finished = undo.finish(records, ledger, cleanup)
    assert finished["web-01"]["snapshot_kept"] is False and finished["web-02"]["snapshot_kept"] is True
    assert finished["web-02"]["message"].endswith("Recording the undo on the host failed (gone), so its snapshot is "
                                                  "kept and a second undo would restore it again.")
    assert finished["web-03"] == records["web-03"]


def test_a_host_that_left_the_play_during_its_undo_is_a_failed_undo_not_a_silence():
    this_wave = {"number": 2, "stop": None, "started_at": 50.0, "dry_run": False, "batch": ["web-01", "web-02"],
                 "restoring": ["web-01"]}
    planned = plan(statuses={"s101": "running", "s102": "error"})
    found = {"web-01": None, "web-02": record_of("web-02", this_wave=this_wave, planned=planned)}
    records = undo.gathered(planned, this_wave, found)
    assert records["web-01"]["status"] == "undo_failed" and records["web-01"]["wave"] == 2
    assert records["web-01"]["cause"].startswith("The host left the play during its undo")
    assert "restore by hand only if its disk is not the snapshot's" in records["web-01"]["manual_step"]
    # Its restore had ended well: the disk is the snapshot's, and it must not be restored again.
    restored = undo.gathered(planned, this_wave, found, {"web-01": {"changed": True}, "web-02": None})
    assert restored["web-01"]["status"] == "undo_unhealthy"
    assert "do not restore again" in restored["web-01"]["manual_step"]
    failed = undo.gathered(planned, this_wave, found, {"web-01": {"failed": True, "msg": "HTTP 400"}})
    assert failed["web-01"]["status"] == "undo_failed"
    assert records["web-02"]["status"] == "left_alone"
    # The next wave does not start after it.
    hostvars = {"web-01": {"patch_with_rollback_records": records}}
    assert undo.wave(hostvars, ["web-01", "web-02"], ["web-02"], plan(), False)["restoring"] == []


def test_a_run_id_may_hold_dashes_and_underscores():
    assert undo.input_problem("20261205T100000Z-job_42", "web", ["web-01"]) is None


def test_a_failed_read_is_unreadable_even_with_a_record_and_a_blank_one_is_absent():
    assert undo.host_record({"failed": True, "msg": "cat: denied", "stdout": PATCHED["stdout"]}) == ("unreadable", None)
    assert undo.host_record({"stdout": " \r\n"}) == ("absent", None)


def test_the_runs_snapshot_with_an_unreadable_time_is_not_later_than_itself():
    planned = plan(listing={"snapshots": [snap(801, 101, created_at="soon"), snap(802, 102)]})
    assert planned["refusals"] == [] and planned["hosts"]["web-01"]["action"] == "restore"


def test_when_a_time_cannot_be_read_the_refusal_says_the_order_is_unknown():
    later = snap(803, 101, "pre-patch-c2", created_at="soon")
    assert plan(listing={"snapshots": LISTING["snapshots"] + [later]})["refusals"] == [
        "web-01: server 101 has pre-patch-c2, taken after snapshot pre-patch-c1 (or at a time that cannot be read): "
        "restoring it would also undo that later run. Undo the newest run first."]
    # The run's own time unreadable: any other snapshot of the role on the server may be later, an earlier one too.
    earlier = snap(806, 101, "pre-patch-c0", created_at="2026-12-04T20:00:00Z")
    own = dict(LISTING["snapshots"][0], created_at="soon")
    assert plan(listing={"snapshots": [own, LISTING["snapshots"][1], earlier]})["refusals"] == [
        "web-01: server 101 has pre-patch-c0, which may be later than snapshot pre-patch-c1 (its creation time cannot "
        "be read): restoring it would also undo that later run. Undo the newest run first."]


def test_a_host_undone_to_another_snapshot_is_not_already_undone():
    other = probe({"snapshot_name": "pre-patch-c0", "status": "undone"})
    planned = plan(probes={"web-01": other, "web-02": PATCHED})
    assert planned["hosts"]["web-01"]["action"] == "refused"
    assert planned["refusals"][0].startswith("web-01: its record of finished runs does not name snapshot pre-patch-c1")


def test_forcing_a_host_skips_its_record_only_not_the_snapshot_checks():
    later = snap(803, 101, "pre-patch-c2", created_at="2026-12-05T20:00:00Z")
    newer = plan(listing={"snapshots": LISTING["snapshots"] + [later]}, probes={"web-01": probe(), "web-02": PATCHED},
                 forced=["web-01"])
    assert len(newer["refusals"]) == 1 and newer["refusals"][0].startswith("web-01: server 101 has pre-patch-c2, taken after")
    pending = plan(listing={"snapshots": [snap(801, 101, status="in_progress"), snap(802, 102)]}, forced=["web-01"])
    assert pending["refusals"] == ["web-01: snapshot pre-patch-c1 (id 801) is in_progress, not completed."]


def test_a_forced_host_outside_the_undo_is_refused_not_ignored():
    planned = plan(probes={"web-01": PATCHED, "web-02": PATCHED}, forced=["web-1", "web-02", "db-01"])
    assert planned["refusals"] == ["rollback_run_force_hosts names db-01, web-1, not a host of this undo "
                                   "(rollback_run_hosts): check the spelling, or add the host to the pattern."]
    assert [entry["action"] for entry in planned["hosts"].values()] == ["restore", "restore"]


def test_a_refused_host_stays_refused_whatever_its_servers_status():
    planned = plan(probes={"web-01": probe(), "web-02": PATCHED}, statuses={"s101": "error", "s102": "running"})
    assert planned["hosts"]["web-01"]["action"] == "refused" and len(planned["refusals"]) == 1


def test_hosts_without_a_server_id_do_not_share_a_server():
    planned = plan(servers={"web-01": "x", "web-02": None})
    assert planned["refusals"] == ["web-01 has no VPS.org server id (vpsorg_server_id).",
                                   "web-02 has no VPS.org server id (vpsorg_server_id)."]


def test_a_listing_without_snapshots_refuses_the_undo():
    planned = plan(listing={})
    assert planned["refusals"] == ["The account's snapshots could not be listed: no listing"] and planned["hosts"] == {}


def test_a_wave_restores_only_the_hosts_planned_to_restore():
    planned = plan(probes={"web-01": UNDONE, "web-02": PATCHED}, statuses={"s101": "running", "s102": "error"})
    assert [planned["hosts"][h]["action"] for h in ("web-01", "web-02")] == ["already_undone", "left_alone"]
    assert wave_of(["web-01", "web-02"], planned=planned)["restoring"] == []


def test_a_stopped_wave_leaves_the_hosts_not_to_restore_as_planned():
    stopped = {"number": 2, "stop": "Not started: x", "started_at": 50.0, "dry_run": False, "restoring": []}
    alone = record_of(this_wave=stopped, planned=plan(statuses={"s101": "error", "s102": "running"}))
    again = record_of(this_wave=stopped, planned=plan(probes={"web-01": UNDONE, "web-02": PATCHED}))
    assert (alone["status"], again["status"]) == ("left_alone", "already_undone")


def test_a_record_left_unchanged_is_named_only_on_an_undo_that_failed():
    forgotten = {"failed": True, "msg": "rm: Permission denied "}
    done = record_of(outcome={"status": "rolled_back", "at": 60.0}, forgotten=forgotten)
    assert done["message"] == "Restored from snapshot pre-patch-c1 (id 801) and verified."
    failed = record_of(outcome={"status": "rollback_failed", "error": "HTTP 400", "at": 60.0}, forgotten=forgotten)
    assert failed["message"].endswith("Its record of finished runs could not be changed (rm: Permission denied) and may "
                                      "still say the run needed no rollback: the role would then take this snapshot as "
                                      "resolved.")


def test_the_manual_restore_without_inventory_args_has_single_spaces():
    this_wave = {"number": 1, "stop": None, "started_at": 50.0, "dry_run": False, "restoring": ["web-01"]}
    failed = undo.record("web-01", plan(), this_wave, {"status": "rollback_failed", "error": "HTTP 400", "at": 60.0}, {})
    assert failed["manual_step"] == "ansible-playbook vpsorg.cloud.restore -e target=web-01 -e snapshot_id=801"


LEFT_WAVE = {"number": 2, "stop": None, "started_at": 50.0, "dry_run": False, "batch": ["web-01", "web-02"],
             "restoring": ["web-01"]}


def test_a_host_not_being_restored_that_left_the_play_keeps_its_plans_record():
    planned = plan(statuses={"s101": "running", "s102": "error"})
    records = undo.gathered(planned, LEFT_WAVE, {"web-01": None, "web-02": None}, {"web-01": None})
    assert records["web-02"]["status"] == "left_alone" and records["web-02"]["cause"].startswith("Left alone: server 102")


@pytest.mark.parametrize("restore", [{"skipped": True, "changed": False}, {}, {"unreachable": True}, None])
def test_a_host_that_left_the_play_without_a_restore_that_ran_is_a_failed_undo(restore):
    planned = plan(statuses={"s101": "running", "s102": "error"})
    records = undo.gathered(planned, LEFT_WAVE, {"web-01": None, "web-02": None}, {"web-01": restore})
    assert records["web-01"]["status"] == "undo_failed"


def test_a_host_the_ledger_skipped_or_never_reached_keeps_its_snapshot():
    records = {"web-01": record_of(outcome={"status": "rolled_back", "at": 60.0}),
               "web-02": record_of("web-02", outcome={"status": "rolled_back", "at": 60.0})}
    ledger = {"results": [{"item": {"host": "web-01"}, "skipped": True, "changed": False}]}
    assert undo.cleanup_servers(records, ledger) == []
    finished = undo.finish(records, ledger, {"results": []})
    for host in ("web-01", "web-02"):
        assert finished[host]["snapshot_kept"] is True
        assert finished[host]["message"].endswith("Recording the undo on the host failed (the host was not reached), so "
                                                  "its snapshot is kept and a second undo would restore it again.")
