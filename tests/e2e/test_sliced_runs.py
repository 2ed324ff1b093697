"""The role under AWX job slicing: 24 hosts as 4 slices at once, each its own ansible-runner job,
against one simulator that answers 429 to some requests; then the slices' reports merged.

Every mutation the simulator saw is accounted for, per server: a slice touches the snapshots of
its own hosts only, and every host is patched once.
"""

import json
import os
import sys
from collections import Counter

import pytest

from awx_jobs import Awx, awx_slices
from conftest import BIN, ROOT, collections_path

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet, read  # noqa: E402
from vpsorg_sim.faults import FaultRule  # noqa: E402

pytest.importorskip("ansible_runner")

PATCH_PLAYBOOK = os.path.join(ROOT, "docs", "awx", "example-project", "patch.yml")
MERGE_PLAYBOOK = os.path.join(ROOT, "playbooks", "report_merge.yml")
FAST = {"snapshot": 0.3, "backup": 0.3, "restore": 0.5}
DAY = 86400
# The job template's extra vars for the demo patch (the demo's patch tasks, short verify timeouts).
TEMPLATE_VARS = {
    "patch_with_rollback_patch_tasks": os.path.join(ROOT, "demo", "patch_tasks.yml"),
    "patch_with_rollback_verify_timeout": 3,
}

NAMES = ["node-%02d" % number for number in range(1, 25)]
SERVER = {name: 600 + number for number, name in enumerate(NAMES, 1)}
BREAKS = {"node-06": "health", "node-11": "network", "node-20": "health"}
# An earlier run left a rollback on node-13 that nobody marked resolved: the host is refused.
UNRESOLVED = "node-13"
# Two earlier runs of the role that ended patched, recorded on the host: rotation (keep 2) deletes the older.
ROTATED = ["node-05", "node-10", "node-15", "node-24"]


def expected_status(name):
    if name == UNRESOLVED:
        return "unresolved"
    return "rolled_back" if name in BREAKS else "patched"


def seed(fleet):
    """Every server: a snapshot of its owner's; some: the role's earlier snapshots. Returns {name: {label: id}}."""
    state = fleet.sim.state
    state.configure(durations={"snapshot": 0})  # seeded snapshots are completed when the jobs start
    seeded = {}
    for name in NAMES:
        ids = seeded[name] = {"manual": state.create_snapshot(SERVER[name], "before-migration")["id"]}
        state.backdate("snapshot", ids["manual"], 3 * DAY)
        ledger = os.path.join(fleet.disk(name), "var", "lib", "vpsorg-patch-with-rollback")
        if name in ROTATED:
            os.makedirs(ledger)
            for label, age in (("old", 2 * DAY), ("older_kept", DAY)):
                snapshot_name = "pre-patch-%s" % label
                with open(os.path.join(ledger, snapshot_name), "w") as handle:
                    json.dump({"snapshot_name": snapshot_name, "status": "patched"}, handle)
                ids[label] = state.create_snapshot(SERVER[name], snapshot_name)["id"]
                state.backdate("snapshot", ids[label], age)
        if name == UNRESOLVED:
            ids["unresolved"] = state.create_snapshot(SERVER[name], "pre-patch-20261130")["id"]
            state.backdate("snapshot", ids["unresolved"], DAY)
    state.configure(durations=FAST)
    return seeded


def snapshots_by_host(fleet):
    by_id = {server_id: name for name, server_id in SERVER.items()}
    found = {name: {} for name in NAMES}
    for snapshot in fleet.sim.state.list_snapshots():
        found[by_id[snapshot["server"]["id"]]][snapshot["name"]] = snapshot["id"]
    return found


def api_path(entry):
    return entry["path"].split("/api/v1", 1)[-1]


def answered(log, method, suffix=""):
    """{snapshot id: [statuses other than 429]} of the requests METHOD /snapshots/{id}/SUFFIX."""
    seen = {}
    for entry in log:
        parts = api_path(entry).strip("/").split("/")
        if entry["method"] == method and parts[:1] == ["snapshots"] and len(parts) >= 2 and "/".join(parts[2:]) == suffix:
            if entry["status"] != 429:
                seen.setdefault(int(parts[1]), []).append(entry["status"])
    return seen


def test_four_slices_at_once_under_429s(tmp_path):
    hosts = [(name, SERVER[name], BREAKS.get(name)) for name in NAMES]
    fleet = Fleet(str(tmp_path), hosts, durations=FAST)
    try:
        seeded = seed(fleet)
        fleet.sim.faults.add(FaultRule("429", rate=0.1, retry_after=1))
        awx = Awx(str(tmp_path), fleet, collections_path())
        jobs = awx.launch_sliced(5001, 4, PATCH_PLAYBOOK, TEMPLATE_VARS)
        runners = [job.wait() for job in jobs]
        log = fleet.sim.log.entries()

        slices = awx_slices(NAMES, 4)
        assert [job.hosts for job in jobs] == slices
        reports = [job.report() for job in jobs]
        for job, runner, report in zip(jobs, runners, reports):
            # Each slice wrote its own report among its own artifacts, about its own hosts only.
            assert sorted(report["hosts"]) == job.hosts
            assert report["run_id"] == str(job.job_id)
            assert {name: entry["status"] for name, entry in report["hosts"].items()} == {
                name: expected_status(name) for name in job.hosts}, runner.stdout.read()[-4000:]
            # A slice fails when one of its hosts did not end patched, as the whole job would.
            assert runner.status == ("failed" if set(job.hosts) & (set(BREAKS) | {UNRESOLVED}) else "successful")
            # Every event of the slice is about a host of the slice.
            assert {e["event_data"]["host"] for e in runner.events if e["event_data"].get("host")} <= set(job.hosts)

        # Each slice runs its own canary wave: four canaries for one fleet, one per slice.
        first_waves = sorted(name for report in reports for name, e in report["hosts"].items() if e.get("wave") == 1)
        assert first_waves == [hosts_of_slice[0] for hosts_of_slice in slices]

        # No host patched twice: the patch ran once on every host that got to it, in one slice.
        patched = Counter(e["event_data"]["host"] for runner in runners for e in runner.events
                          if e["event"] in ("runner_on_ok", "runner_on_failed")
                          and e["event_data"].get("task") == "Upgrade the application")
        assert patched == Counter(name for name in NAMES if name != UNRESOLVED)
        for name in NAMES:
            assert read(os.path.join(fleet.disk(name), "app.conf")) == (
                "version=2\n" if expected_status(name) == "patched" else "version=1\n")

        # Every mutation the API saw, per snapshot: what that host's own run had to do, once.
        by_name = {name: entry for report in reports for name, entry in report["hosts"].items()}
        run_snapshot = {name: by_name[name]["snapshot_id"] for name in NAMES if name != UNRESOLVED}
        assert len(set(run_snapshot.values())) == len(run_snapshot)
        expected_deletes = {seeded[name]["old"] for name in ROTATED} | {
            run_snapshot[name] for name in NAMES if expected_status(name) == "patched"}
        assert answered(log, "DELETE") == {snapshot_id: [204] for snapshot_id in expected_deletes}
        assert answered(log, "POST", "restore") == {run_snapshot[name]: [200] for name in BREAKS}
        created = [e for e in log if e["method"] == "POST" and api_path(e).rstrip("/") == "/snapshots" and e["status"] != 429]
        assert [e["status"] for e in created] == [201] * len(run_snapshot)
        for name in ROTATED:
            assert by_name[name]["rotation_deleted"] == ["pre-patch-old"]
        assert not [name for name in NAMES if name not in ROTATED and by_name[name].get("rotation_deleted")]

        # What is left on each server: its owner's snapshot, the role's kept ones, nothing of another host.
        left = snapshots_by_host(fleet)
        for name in NAMES:
            expected = {"before-migration": seeded[name]["manual"]}
            if name in ROTATED:
                expected["pre-patch-older_kept"] = seeded[name]["older_kept"]
            if name == UNRESOLVED:
                expected["pre-patch-20261130"] = seeded[name]["unresolved"]
            if name in BREAKS:
                expected[by_name[name]["snapshot_name"]] = run_snapshot[name]
            assert left[name] == expected, name

        # The 429s were there, in every slice's requests, and never failed a task (default retries).
        throttled = [e for e in log if e["status"] == 429]
        assert len(throttled) >= 10, "the fault hardly fired: %d" % len(throttled)
        failures = json.dumps([e["event_data"].get("res", {}) for runner in runners for e in runner.events
                               if e["event"] == "runner_on_failed"])
        assert "429" not in failures and "gave up after" not in failures and "Too Many" not in failures
        assert "VPSORG_API_RETRIES" not in awx.env()

        # The merger: one fleet summary from the four slices' reports.
        merge = awx.launch(5010, MERGE_PLAYBOOK, ["localhost"], template="Merge reports", extra_vars={
            "report_merge_sources": [os.path.join(job.artifact_dir, "patch_with_rollback-report.json") for job in jobs]})
        merged_runner = merge.wait()
        assert merged_runner.status == "successful", merged_runner.stdout.read()[-3000:]
        fleet_report = merge.report("patch_with_rollback-fleet-report.json")
        assert fleet_report["total_hosts"] == 24 and fleet_report["duplicates"] == {}
        assert fleet_report["statuses"] == {"patched": 20, "rolled_back": 3, "unresolved": 1}
        assert fleet_report["needs_attention"] == ["node-06", "node-11", "node-13", "node-20"]
        assert fleet_report["run_ids"] == ["5001", "5002", "5003", "5004"]
        assert [r["hosts"] for r in fleet_report["reports"]] == [6, 6, 6, 6]
        assert {name: e["status"] for name, e in fleet_report["hosts"].items()} == {n: expected_status(n) for n in NAMES}
        assert fleet_report["hosts"]["node-11"]["source"].startswith(jobs[2].artifact_dir)
        stats = [e for e in merged_runner.events if e["event"] == "playbook_on_stats"][0]["event_data"]["artifact_data"]
        assert stats["patch_with_rollback_fleet"]["statuses"] == fleet_report["statuses"]
        assert "hosts" not in stats["patch_with_rollback_fleet"]
    finally:
        fleet.stop()
