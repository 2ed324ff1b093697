"""A change with a hold window, undone the next day, over real SSH: cleanup hold, vpsorg.cloud.rollback_run, and
vpsorg.cloud.prune_holds once the hold has run out.

Three hosts are patched with ``patch_with_rollback_cleanup: hold``. "The next
day" is the simulator's clock moved on: the snapshots are made older with its
control (backdate), on the API's clock, which is the clock a hold runs on.
Each step is one run of a collection playbook; the tests read what each left.
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from ssh_lab import RebootOnRestore, SshLab, ssh_env

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet, read  # noqa: E402

FAST = {"snapshot": 0.3, "backup": 0.3, "restore": 0.5}
HOSTS = (("web-01", 101, None), ("web-02", 102, None), ("web-03", 103, None))
RUN_ID = "change-1206"
HOUR = 3600


class Change:
    """The fleet, its sshds, and what each step of the change returned."""

    def __init__(self, folder):
        self.lab = SshLab(folder)
        self.fleet = Fleet(os.path.join(folder, "fleet"), HOSTS, durations=FAST)
        self.host_vars = {}
        for name, _server_id, _breaks in HOSTS:
            daemon = self.lab.add(name)
            self.host_vars[name] = dict(daemon.inventory_vars(self.lab.key), demo_sshd_pid_file=daemon.pid_file,
                                        patch_with_rollback_verify_timeout=120,
                                        patch_with_rollback_restore_verify_timeout=120)
        self.reboots = {server_id: RebootOnRestore(self.fleet.sim, server_id, self.lab.daemons[name])
                        for name, server_id, _b in HOSTS}
        for thread in self.reboots.values():
            thread.start()
        self.steps = {}

    def close(self):
        for thread in self.reboots.values():
            thread.stop()
        self.fleet.stop()
        self.lab.close()

    def playbook(self, step, name, extra_vars, args=()):
        """Run a collection playbook over the fleet; keep (process, report, requests made) under ``step``."""
        self.steps[step] = run_playbook(self.fleet, name, extra_vars, self.host_vars, ssh_env(self.lab.control_dir), args)
        return self.steps[step]

    def snapshots(self):
        return {s["id"]: (s["server"]["id"], s["name"]) for s in self.fleet.sim.state.list_snapshots()}

    def app_version(self, name):
        return read(os.path.join(self.fleet.disk(name), "app.conf"))

    def backdate_all(self, hours):
        for snapshot in self.fleet.sim.state.list_snapshots():
            self.fleet.sim.state.backdate("snapshot", snapshot["id"], hours * HOUR)


def run_playbook(fleet, name, extra_vars, host_vars=None, env=None, args=()):
    """Run a collection playbook over the fleet: (process, report of a rollback_run or None, requests it made)."""
    report = os.path.join(fleet.root, "%s-%d.json" % (name, len(fleet.sim.log.entries())))
    extra = dict(extra_vars, rollback_run_report_path=report) if name == "rollback_run" else dict(extra_vars)
    before = len(fleet.sim.log.entries())
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
               "-i", fleet.inventory(host_vars), os.path.join(ROOT, "playbooks", name + ".yml"),
               "-e", json.dumps(extra)] + list(args)
    full_env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_NOCOLOR="1", **fleet.env())
    full_env.update(env or {})
    process = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=900, check=False)
    result = None
    if os.path.exists(report):
        with open(report) as handle:
            result = json.load(handle)
    return process, result, [(e["method"], e["path"]) for e in fleet.sim.log.entries()[before:]]


def changes(requests):
    return [(method, path) for method, path in requests if method != "GET"]


@pytest.fixture(scope="module")
def change(tmp_path_factory):
    change = Change(str(tmp_path_factory.mktemp("undo-run")))
    try:
        # Day 1: the change, held for a day.
        process, report = change.fleet.run({"patch_with_rollback_run_id": RUN_ID, "patch_with_rollback_cleanup": "hold",
                                            "patch_with_rollback_hold": "1d", "patch_with_rollback_first_wave": 1},
                                           extra_host_vars=change.host_vars, env=ssh_env(change.lab.control_dir))
        change.steps["patch"] = (process, report, None)
        assert report is not None, process.stdout[-4000:] + process.stderr[-2000:]
        change.held = change.snapshots()
        change.versions = {name: change.app_version(name) for name, _id, _b in HOSTS}
        change.descriptions = {s["server"]["id"]: s["description"] for s in change.fleet.sim.state.list_snapshots()}
        # A snapshot of the operator's own, which nothing of this change may touch.
        change.fleet.sim.state.create_snapshot(103, "before-the-audit", "the operator's own")
        # The next morning: 20 hours later.
        change.backdate_all(20)
        change.playbook("unknown_run", "rollback_run", {"rollback_run_id": "change-0000", "rollback_run_hosts": "web-01"})
        change.playbook("bad_pattern", "rollback_run", {"rollback_run_id": RUN_ID, "rollback_run_hosts": "db-*"})
        change.playbook("dry_run", "rollback_run", {"rollback_run_id": RUN_ID, "rollback_run_hosts": "web-01:web-02"},
                        args=["--check"])
        change.playbook("early_prune", "prune_snapshots", {"prefix": "pre-patch-", "max_age": "1h"})
        change.playbook("undo", "rollback_run", {"rollback_run_id": RUN_ID, "rollback_run_hosts": "web-01:web-02"})
        change.playbook("undo_again", "rollback_run", {"rollback_run_id": RUN_ID, "rollback_run_hosts": "web-01:web-02"})
        # After the hold: a day and more since the snapshots were taken.
        change.backdate_all(25)
        change.playbook("prune", "prune_holds", {"prefix": "pre-patch-"})
        change.playbook("undo_pruned", "rollback_run", {"rollback_run_id": RUN_ID, "rollback_run_hosts": "web-03"})
        yield change
    finally:
        change.close()


def test_the_change_holds_every_verified_hosts_snapshot_and_says_until_when(change):
    process, report, _requests = change.steps["patch"]
    assert process.returncode == 0, process.stdout[-4000:]
    hosts = report["hosts"]
    assert {name: entry["status"] for name, entry in hosts.items()} == dict.fromkeys(
        ("web-01", "web-02", "web-03"), "patched")
    assert sorted((server, name) for server, name in change.held.values()) == [
        (101, "pre-patch-" + RUN_ID), (102, "pre-patch-" + RUN_ID), (103, "pre-patch-" + RUN_ID)]
    for name, server_id, _b in HOSTS:
        assert change.held[hosts[name]["snapshot_id"]] == (server_id, "pre-patch-" + RUN_ID)
        assert change.descriptions[server_id].startswith("hold=86400s once verified; ")
        assert hosts[name]["snapshot_kept"] is True and hosts[name]["held_until"]
        assert "held until %s" % hosts[name]["held_until"] in process.stdout
        assert change.versions[name] == "version=2\n"


def test_an_unknown_run_id_and_a_bad_host_pattern_are_refused_with_nothing_done(change):
    for step, says in (("unknown_run", "Run change-0000 is unknown: no snapshot of the account is named "
                                       "pre-patch-change-0000"),
                       ("bad_pattern", "The host pattern 'db-*' (rollback_run_hosts) matches no host")):
        process, report, requests = change.steps[step]
        assert process.returncode != 0
        assert "Refused, nothing was done" in process.stdout and says in process.stdout, process.stdout[-3000:]
        assert report is None and changes(requests) == []


def test_a_dry_run_lists_what_would_be_restored_and_from_which_snapshot(change):
    process, report, requests = change.steps["dry_run"]
    assert process.returncode == 0, process.stdout[-4000:]
    assert report["dry_run"] is True and report["undo"] is True and report["run_id"] == RUN_ID
    by_server = {server: snapshot_id for snapshot_id, (server, _name) in change.held.items()}
    assert {name: (entry["status"], entry["snapshot_id"]) for name, entry in report["hosts"].items()} == {
        "web-01": ("would_undo", by_server[101]), "web-02": ("would_undo", by_server[102])}
    assert changes(requests) == []


def test_a_prune_within_the_hold_deletes_nothing(change):
    process, _report, requests = change.steps["early_prune"]
    assert process.returncode == 0, process.stdout[-4000:]
    assert changes(requests) == []
    assert "rotation leaves it until the hold runs out" in process.stdout + process.stderr


def test_the_undo_restores_exactly_those_hosts_from_their_own_snapshots_verified(change):
    process, report, requests = change.steps["undo"]
    assert process.returncode == 0, process.stdout[-4000:]
    by_server = {server: snapshot_id for snapshot_id, (server, _name) in change.held.items()}
    assert {name: entry["status"] for name, entry in report["hosts"].items()} == {
        "web-01": "undone", "web-02": "undone"}
    # The canary first, then the rest; each restore from its own snapshot; then each snapshot deleted.
    assert [r["wave"] for r in (report["hosts"]["web-01"], report["hosts"]["web-02"])] == [1, 2]
    assert changes(requests) == [
        ("POST", "/api/v1/snapshots/%d/restore/" % by_server[101]), ("DELETE", "/api/v1/snapshots/%d/" % by_server[101]),
        ("POST", "/api/v1/snapshots/%d/restore/" % by_server[102]), ("DELETE", "/api/v1/snapshots/%d/" % by_server[102])]
    assert change.app_version("web-01") == change.app_version("web-02") == "version=1\n"
    assert change.app_version("web-03") == "version=2\n"
    assert change.reboots[101].boots == change.reboots[102].boots == 1 and change.reboots[103].boots == 0
    assert "Undo of patch_with_rollback run %s" % RUN_ID in process.stdout


def test_a_second_undo_of_the_same_hosts_does_nothing(change):
    process, report, requests = change.steps["undo_again"]
    assert process.returncode == 0, process.stdout[-4000:]
    assert {name: entry["status"] for name, entry in report["hosts"].items()} == {
        "web-01": "already_undone", "web-02": "already_undone"}
    assert changes(requests) == []


def test_the_prune_after_the_hold_deletes_the_third_hosts_snapshot_and_nothing_else(change):
    process, _report, requests = change.steps["prune"]
    assert process.returncode == 0, process.stdout[-4000:]
    third = [snapshot_id for snapshot_id, (server, _name) in change.held.items() if server == 103]
    assert changes(requests) == [("DELETE", "/api/v1/snapshots/%d/" % third[0])]
    assert [name for _id, (_server, name) in change.snapshots().items()] == ["before-the-audit"]


def test_an_undo_of_a_host_whose_snapshot_is_gone_is_refused_with_nothing_done(change):
    process, report, requests = change.steps["undo_pruned"]
    assert process.returncode != 0
    assert "web-03: server 103 has no snapshot pre-patch-%s: it was deleted" % RUN_ID in process.stdout, \
        process.stdout[-3000:]
    assert report is None and changes(requests) == []
    assert change.app_version("web-03") == "version=2\n"


def test_a_failed_undo_stops_the_later_waves_and_leaves_the_host_unresolved_for_the_role(tmp_path):
    """Local connections: web-01 (the canary) is undone; web-02's restore fails, so web-03's wave never starts,
    and the next run of the role refuses web-02 until it is marked resolved, as after any failed rollback."""
    fleet = Fleet(str(tmp_path), HOSTS + (("web-04", 104, None),), durations=FAST)
    try:
        process, report = fleet.run({"patch_with_rollback_run_id": RUN_ID, "patch_with_rollback_cleanup": "hold",
                                     "patch_with_rollback_hold": "2h", "patch_with_rollback_first_wave": "100%"})
        assert process.returncode == 0, process.stdout[-4000:]
        held = {entry["snapshot_id"] for entry in report["hosts"].values()}
        fleet.sim.state.plan_outcome("restore", server_id=102)
        process, undone, requests = run_playbook(fleet, "rollback_run", {
            "rollback_run_id": RUN_ID, "rollback_run_hosts": "web-01:web-02:web-03", "rollback_run_wave_size": 1})
        assert process.returncode == 2, process.stdout[-4000:]
        assert {name: (entry["status"], entry["wave"]) for name, entry in undone["hosts"].items()} == {
            "web-01": ("undone", 1), "web-02": ("undo_failed", 2), "web-03": ("not_started", 3)}
        web02 = report["hosts"]["web-02"]["snapshot_id"]
        assert ("POST", "/api/v1/snapshots/%d/restore/" % web02) in requests
        assert [r for r in changes(requests) if r[0] == "POST"] == [
            ("POST", "/api/v1/snapshots/%d/restore/" % report["hosts"]["web-01"]["snapshot_id"]),
            ("POST", "/api/v1/snapshots/%d/restore/" % web02)]
        assert "Not started: the undo of web-02 failed in an earlier wave (undo_failed)" in undone["hosts"]["web-03"]["cause"]
        assert undone["hosts"]["web-02"]["manual_step"].endswith("vpsorg.cloud.restore -e target=web-02 -e snapshot_id=%d"
                                                                 % web02)
        # Its record of finished runs no longer names the snapshot; the others' do (web-01's: undone).
        state = {name: os.path.join(fleet.disk(name), "var", "lib", "vpsorg-patch-with-rollback", "pre-patch-" + RUN_ID)
                 for name in ("web-01", "web-02", "web-03")}
        assert not os.path.exists(state["web-02"]) and os.path.exists(state["web-03"])
        assert json.loads(read(state["web-01"]))["status"] == "undone"
        # The next change: web-02's kept snapshot is an unresolved rollback; web-03's held one is resolved.
        fleet.sim.state.release()
        process, later = fleet.run({"patch_with_rollback_run_id": "change-1207", "patch_with_rollback_first_wave": "100%",
                                    "patch_with_rollback_max_fail_percentage": 100})
        assert {name: entry["status"] for name, entry in later["hosts"].items()} == {
            "web-01": "patched", "web-02": "unresolved", "web-03": "patched", "web-04": "patched"}
        assert {s["id"] for s in fleet.sim.state.list_snapshots()} >= held - {report["hosts"]["web-01"]["snapshot_id"]}
        # After the hold: the prune deletes the held snapshots of the hosts the change left patched, web-03's and
        # web-04's, and keeps web-02's, which its failed undo left unresolved.
        for snapshot in fleet.sim.state.list_snapshots():
            fleet.sim.state.backdate("snapshot", snapshot["id"], 3 * HOUR)
        process, _none, requests = run_playbook(fleet, "prune_holds", {})
        assert process.returncode == 0, process.stdout[-4000:]
        by_host = {name: entry["snapshot_id"] for name, entry in report["hosts"].items()}
        assert sorted(changes(requests)) == sorted(("DELETE", "/api/v1/snapshots/%d/" % by_host[name])
                                                   for name in ("web-03", "web-04")), process.stdout[-3000:]
        assert by_host["web-02"] in {s["id"] for s in fleet.sim.state.list_snapshots()}
        assert "web-02's record of finished runs does not name it" in process.stdout
    finally:
        fleet.stop()


def test_an_undo_against_an_api_that_misbehaves_restores_each_host_once(tmp_path):
    """The list order moves between page requests (pages of one), the listing meets a 429, one restore is carried out
    but answered HTTP 500 (a proxy that lost the answer), and one snapshot's DELETE is carried out but never answered.
    Each host is still restored exactly once, verified, and its snapshot gone; a second undo does nothing."""
    from vpsorg_sim.faults import FaultRule  # noqa: E402 - the simulator is importable once the demo's path is set

    fleet = Fleet(str(tmp_path), HOSTS[:2], durations=FAST)
    try:
        process, report = fleet.run({"patch_with_rollback_run_id": RUN_ID, "patch_with_rollback_cleanup": "hold",
                                     "patch_with_rollback_hold": "1d", "patch_with_rollback_first_wave": "100%"})
        assert process.returncode == 0, process.stdout[-4000:]
        ids = {name: entry["snapshot_id"] for name, entry in report["hosts"].items()}
        sim = fleet.sim
        sim.state.configure(order="reshuffle", page_size=1)
        sim.faults.add(FaultRule("429", count=1, methods=["GET"], path="/snapshots/"))
        sim.faults.add(FaultRule("commit_fail", count=1, methods=["POST"], path="/snapshots/%d/restore/" % ids["web-01"]))
        sim.faults.add(FaultRule("commit_drop", count=1, methods=["DELETE"], path="/snapshots/%d/" % ids["web-02"]))
        process, undone, requests = run_playbook(fleet, "rollback_run", {"rollback_run_id": RUN_ID,
                                                                         "rollback_run_hosts": "web-01:web-02"})
        assert process.returncode == 0, process.stdout[-4000:]
        assert {name: entry["status"] for name, entry in undone["hosts"].items()} == {
            "web-01": "undone", "web-02": "undone"}
        # One restore request per server, carried out once: the lost answer was not taken for a restore to send again.
        restores = {name: [e["status"] for e in sim.log.entries() if e["method"] == "POST"
                           and e["path"] == "/api/v1/snapshots/%d/restore/" % ids[name]] for name in ids}
        assert restores == {"web-01": [500], "web-02": [200]}, restores
        assert all(read(os.path.join(fleet.disk(name), "app.conf")) == "version=1\n" for name in ids)
        assert sim.state.list_snapshots() == []
        assert not [r for r in requests if r[0] == "POST" and not r[1].endswith("/restore/")]
        process, again, requests = run_playbook(fleet, "rollback_run", {"rollback_run_id": RUN_ID,
                                                                        "rollback_run_hosts": "web-01:web-02"})
        assert process.returncode == 0 and changes(requests) == [], process.stdout[-3000:]
        assert {entry["status"] for entry in again["hosts"].values()} == {"already_undone"}
    finally:
        fleet.stop()
