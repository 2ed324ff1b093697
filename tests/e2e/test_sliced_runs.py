"""The role under AWX job slicing, run as the workflow docs/awx/awx_setup.yml creates
("VPS.org: patch with a canary"), with the templates' own limits, prompts and extra vars:
a canary job over the canary group, then, only if it succeeded, the 24-host inventory as 4
slices at once (each its own ansible-runner job, the canary host left out by the node's
limit), against one simulator that answers 429 to some requests; then the merge job.

Every mutation the simulator saw is accounted for, per snapshot: a slice touches the
snapshots of its own hosts only, and every host is patched once, by one job.
"""

import json
import os
import re
import sys
from collections import Counter

import pytest

from awx_jobs import Awx, awx_slices
from conftest import ROOT, collections_path

sys.path.insert(0, os.path.join(ROOT, "demo"))
sys.path.insert(0, os.path.join(ROOT, "tests", "awx"))

from fleet import Fleet, read  # noqa: E402
from vpsorg_sim.faults import FaultRule  # noqa: E402
from awx_templates import job_templates, workflow  # noqa: E402

pytest.importorskip("ansible_runner")

PROJECT = os.path.join(ROOT, "docs", "awx", "example-project")
PATCH = "VPS.org: patch with rollback"
RUN_ID = "CHG-42"
FAST = {"snapshot": 0.3, "backup": 0.3, "restore": 0.5}
DAY = 86400
# Added to the patch template's extra vars for the demo: its patch tasks, short verify timeouts.
DEMO_VARS = {
    "patch_with_rollback_patch_tasks": os.path.join(ROOT, "demo", "patch_tasks.yml"),
    "patch_with_rollback_verify_timeout": 3,
}

NAMES = ["node-%02d" % number for number in range(1, 25)]
CANARY = "node-03"
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


class Workflow:
    """AWX running the canary workflow: each node's job with its template's extra vars, the node's
    prompts, and the workflow's survey answers (highest precedence), as AWX merges them."""

    def __init__(self, awx, reports):
        self.awx = awx
        # reports: the shared folder (vpsorg_awx_report_dir); "" for none, the jobs' artifacts then carry the reports.
        self.templates = job_templates(setup_vars={"vpsorg_awx_report_dir": reports})
        self.nodes = {n["identifier"]: n for n in workflow("VPS.org: patch with a canary")["workflow_nodes"]}
        self.survey = {"patch_with_rollback_run_id": RUN_ID}
        self.jobs = {}
        # What AWX hands the next nodes: every finished node's artifacts, merged key by key (dict.update), a
        # sliced job's being its slices' artifacts merged in job order (WorkflowJob.get_effective_artifacts).
        self.artifacts = {}

    def extra_vars(self, node):
        """Lowest first: the template's extra vars, its survey's defaults, the node's, the artifacts of the nodes
        before it, the workflow's (as AWX's WorkflowJobNode.get_job_kwargs orders them)."""
        template = self.template(node)
        variables = dict(template.get("extra_vars") or {}, **(DEMO_VARS if template["name"] == PATCH else {}))
        if template.get("survey_enabled"):
            variables.update((q["variable"], q["default"]) for q in template["survey_spec"]["spec"] if "default" in q)
        return dict(variables, **self.nodes[node].get("extra_data", {}), **self.artifacts, **self.survey)

    def template(self, node):
        return self.templates[self.nodes[node]["unified_job_template"]["name"]]

    def playbook(self, node):
        return os.path.join(PROJECT, self.template(node)["playbook"])

    def run_node(self, node, job_id):
        spec = self.nodes[node]
        slices = spec.get("job_slice_count", self.template(node).get("job_slice_count", 1))
        if slices > 1:
            jobs = self.awx.launch_sliced(job_id, slices, self.playbook(node), self.extra_vars(node),
                                          limit=spec.get("limit"), workflow_job_id=job_id - 1)
        else:
            jobs = [self.awx.launch(job_id, self.playbook(node), sorted(self.awx.hostvars), self.extra_vars(node),
                                    limit=spec.get("limit"), workflow_job_id=1000)]
        self.jobs[node] = jobs
        # A node (all of a sliced job's slices) ends when every job of it ended.
        statuses = [job.wait().status for job in jobs]
        for job in jobs:
            self.artifacts.update(job.stats())
        succeeded = set(statuses) == {"successful"}
        edges = spec.get("related", {})
        return [n["identifier"] for n in edges.get("success_nodes" if succeeded else "failure_nodes", [])
                + edges.get("always_nodes", [])]

    def run(self):
        """From the root, each node after the one before it, as AWX's edges say; returns the nodes run."""
        ran, ready, job_id = [], ["canary"], 5000
        while ready:
            node = ready.pop(0)
            ran.append(node)
            ready.extend(self.run_node(node, job_id))
            job_id += 10
        return ran


def stats_of(job):
    """The job's set_stats data: what AWX keeps as the job's artifacts."""
    return job.stats()


def statuses_of(report):
    return {name: entry["status"] for name, entry in report["hosts"].items()}


def report_of(reports, job):
    with open(os.path.join(reports, "patch-%s-job-%s.json" % (RUN_ID, job.job_id))) as handle:
        return json.load(handle)


def test_canary_then_24_hosts_in_4_slices_at_once_under_429s(tmp_path):
    hosts = [(name, SERVER[name], BREAKS.get(name)) for name in NAMES]
    fleet = Fleet(str(tmp_path), hosts, durations=FAST)
    try:
        seeded = seed(fleet)
        fleet.sim.faults.add(FaultRule("429", rate=0.2, retry_after=1))
        reports = str(tmp_path / "reports")  # the shared folder every job sees
        os.makedirs(reports)
        awx = Awx(str(tmp_path), fleet, collections_path(), groups={"canary": [CANARY]})
        flow = Workflow(awx, reports)
        assert flow.run() == ["canary", "fleet", "merge"]
        log = fleet.sim.log.entries()

        [canary], slices, [merge] = flow.jobs["canary"], flow.jobs["fleet"], flow.jobs["merge"]
        assert canary.runner.status == "successful", canary.runner.stdout.read()[-3000:]
        canary_report = report_of(reports, canary)
        assert statuses_of(canary_report) == {CANARY: "patched"} and canary_report["run_id"] == RUN_ID
        # AWX slices the whole inventory; the node's limit then leaves the canary out of its slice.
        assert [job.hosts for job in slices] == awx_slices(NAMES, 4)
        assert [job.job_id for job in slices] == [5010, 5011, 5012, 5013]
        slice_reports = [report_of(reports, job) for job in slices]
        for job, report in zip(slices, slice_reports):
            mine = [name for name in job.hosts if name != CANARY]
            # Each slice wrote its own report, about its own hosts only, under the run's one id.
            assert statuses_of(report) == {name: expected_status(name) for name in mine}, job.runner.stdout.read()[-4000:]
            assert report["run_id"] == RUN_ID
            # The canary already passed: every host of a slice is in its first and only wave.
            assert {entry["wave"] for entry in report["hosts"].values() if "wave" in entry} == {1}
            # A slice fails when one of its hosts did not end patched, as the whole job would.
            assert job.runner.status == ("failed" if set(mine) & (set(BREAKS) | {UNRESOLVED}) else "successful")
            # Every event of the slice is about a host of the slice, and its artifacts hold its hosts' results.
            assert {e["event_data"]["host"] for e in job.host_events()} <= set(mine)
            assert sorted(stats_of(job)["patch_with_rollback"]) == mine
        # AWX hands a later workflow node the slices' artifacts merged key by key (dict.update): one
        # slice's patch_with_rollback replaces the others'. Hence the merge job, which reads the reports.
        combined = {}
        for job in slices:
            combined.update(stats_of(job))
        assert sorted(combined["patch_with_rollback"]) == slices[-1].hosts

        # No host patched twice: the patch ran once on every host that got to it, in one job.
        patched = Counter(e["event_data"]["host"] for job in [canary] + slices
                          for e in job.host_events(("runner_on_ok", "runner_on_failed"), "Upgrade the application"))
        assert patched == Counter(name for name in NAMES if name != UNRESOLVED)
        for name in NAMES:
            assert read(os.path.join(fleet.disk(name), "app.conf")) == (
                "version=2\n" if expected_status(name) == "patched" else "version=1\n")

        # Every mutation the API saw, per snapshot: what that host's own run had to do, once.
        by_name = {name: entry for report in [canary_report] + slice_reports for name, entry in report["hosts"].items()}
        assert sorted(by_name) == NAMES
        run_snapshot = {name: by_name[name]["snapshot_id"] for name in NAMES if name != UNRESOLVED}
        assert len(set(run_snapshot.values())) == len(run_snapshot)
        assert {by_name[name]["snapshot_name"] for name in run_snapshot} == {"pre-patch-" + RUN_ID}
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

        # The 429s were there and never failed a task, with the default retries.
        throttled = [e for e in log if e["status"] == 429]
        # One request in five meets a 429 (the role makes few requests; expect about 20 or more).
        assert len(throttled) >= 5, "the fault hardly fired: %d" % len(throttled)
        failures = json.dumps([e["event_data"].get("res", {}) for job in [canary] + slices
                               for e in job.host_events(("runner_on_failed",))])
        # 429 as a number of its own ("HTTP 429", "status": 429); not the digits inside a time or an id, which a
        # failed result carries (a stamp like 1764651429.3 matched by chance under load).
        assert not re.search(r"(?<![\d.])429(?!\.?\d)", failures), failures
        assert "gave up after" not in failures and "Too Many" not in failures
        assert "VPSORG_API_RETRIES" not in awx.env()

        # The merge job: one fleet summary from the five jobs' reports.
        assert merge.runner.status == "successful", merge.runner.stdout.read()[-3000:]
        fleet_report = merge.report("patch_with_rollback-fleet-report.json")
        # Each job's JSON report, and its page beside it.
        assert sorted(os.listdir(reports)) == sorted("patch-%s-job-%s.%s" % (RUN_ID, job, kind) for job in (
            5000, 5010, 5011, 5012, 5013) for kind in ("json", "html"))
        assert fleet_report["total_hosts"] == 24 and fleet_report["duplicates"] == {}
        assert fleet_report["statuses"] == {"patched": 20, "rolled_back": 3, "unresolved": 1}
        assert fleet_report["needs_attention"] == ["node-06", "node-11", "node-13", "node-20"]
        assert fleet_report["run_ids"] == [RUN_ID]
        assert [r["hosts"] for r in fleet_report["reports"]] == [1, 6, 6, 5, 6]
        assert {name: e["status"] for name, e in fleet_report["hosts"].items()} == {n: expected_status(n) for n in NAMES}
        assert fleet_report["hosts"]["node-11"]["source"] == os.path.join(reports, "patch-%s-job-5012.json" % RUN_ID)
        assert stats_of(merge)["patch_with_rollback_fleet"]["statuses"] == fleet_report["statuses"]

        # The merge through AWX itself: each job published its report under a key of its own, which AWX's
        # key-by-key merge of the five jobs' artifacts keeps. A merge job handed those (and no folder) sums up
        # the same fleet.
        published = sorted(key for key in flow.artifacts if key.startswith("patch_with_rollback_report_"))
        assert published == ["patch_with_rollback_report_%d" % job for job in (5000, 5010, 5011, 5012, 5013)]
        from_artifacts = awx.launch(5100, os.path.join(PROJECT, "report_merge.yml"), NAMES,
                                    extra_vars=dict(flow.artifacts), template="VPS.org: merge patch reports")
        assert from_artifacts.wait().status == "successful", from_artifacts.runner.stdout.read()[-3000:]
        assert_same_fleet(from_artifacts.report("patch_with_rollback-fleet-report.json"), fleet_report)
    finally:
        fleet.stop()


def assert_same_fleet(merged, from_files):
    """The fleet summary merged from the jobs' artifacts says what the one merged from their report files says."""
    for field in ("total_hosts", "statuses", "needs_attention", "duplicates", "run_ids", "dry_run"):
        assert merged[field] == from_files[field], field
    assert [r["hosts"] for r in merged["reports"]] == [r["hosts"] for r in from_files["reports"]]
    assert [r["statuses"] for r in merged["reports"]] == [r["statuses"] for r in from_files["reports"]]
    for name, entry in from_files["hosts"].items():
        kept = {field: entry.get(field) for field in ("status", "cause", "snapshot_id", "wave", "manual_step")}
        assert {field: merged["hosts"][name].get(field) for field in kept} == kept, name


def test_a_failed_canary_stops_the_workflow_before_the_fleet(tmp_path):
    names = ["node-01", "node-02", "node-03", "node-04"]
    fleet = Fleet(str(tmp_path), [(name, SERVER[name], "health" if name == CANARY else None) for name in names],
                  durations=FAST)
    try:
        reports = str(tmp_path / "reports")
        os.makedirs(reports)
        flow = Workflow(Awx(str(tmp_path), fleet, collections_path(), groups={"canary": [CANARY]}), reports)
        # The canary's failure edge goes to the merge job; the fleet never starts.
        assert flow.run() == ["canary", "merge"]
        [canary], [merge] = flow.jobs["canary"], flow.jobs["merge"]
        assert canary.runner.status == "failed"
        assert statuses_of(report_of(reports, canary)) == {CANARY: "rolled_back"}
        # Only the canary's server was read or changed.
        touched = {api_path(e).strip("/").split("/")[1] for e in fleet.sim.log.entries() if api_path(e).startswith("/servers/")}
        assert touched == {str(SERVER[CANARY])}
        assert [s["server"]["name"] for s in fleet.sim.state.list_snapshots()] == [CANARY]
        for name in names:
            assert read(os.path.join(fleet.disk(name), "app.conf")) == "version=1\n"
        assert merge.runner.status == "successful"
        summary = merge.report("patch_with_rollback-fleet-report.json")
        assert summary["statuses"] == {"rolled_back": 1} and summary["needs_attention"] == [CANARY]
    finally:
        fleet.stop()


def test_without_a_shared_folder_the_merge_reads_what_the_jobs_published(tmp_path):
    """docs/awx/awx_setup.yml's default: no report folder; the canary, the slices and the merge share nothing
    but what AWX hands from node to node (the artifacts)."""
    names = ["node-%02d" % number for number in range(1, 9)]  # every slice keeps a host besides the canary
    fleet = Fleet(str(tmp_path), [(name, SERVER[name], "health" if name == "node-04" else None) for name in names],
                  durations=FAST)
    try:
        flow = Workflow(Awx(str(tmp_path), fleet, collections_path(), groups={"canary": [CANARY]}), "")
        assert flow.run() == ["canary", "fleet", "merge"]
        [canary], slices, [merge] = flow.jobs["canary"], flow.jobs["fleet"], flow.jobs["merge"]
        assert [job.job_id for job in slices] == [5010, 5011, 5012, 5013]
        # No shared folder: each job's report and page stayed among its own artifacts.
        for job in [canary] + slices:
            assert sorted(f for f in os.listdir(job.artifact_dir) if f.startswith("patch_with_rollback")) == [
                "patch_with_rollback-report.html", "patch_with_rollback-report.json"]
        assert merge.runner.status == "successful", merge.runner.stdout.read()[-3000:]
        summary = merge.report("patch_with_rollback-fleet-report.json")
        assert summary["statuses"] == {"patched": 7, "rolled_back": 1} and summary["needs_attention"] == ["node-04"]
        assert [(r["source"], r["hosts"]) for r in summary["reports"]] == [
            ("patch_with_rollback_report_%d" % job.job_id, len(job.report()["hosts"])) for job in [canary] + slices]
        assert [r["hosts"] for r in summary["reports"]] == [1, 2, 2, 1, 2]
        assert summary["hosts"]["node-04"]["manual_step"] and summary["hosts"]["node-04"]["cause"]

        # The same summary as from the jobs' report files.
        files = [os.path.join(job.artifact_dir, "patch_with_rollback-report.json") for job in [canary] + slices]
        from_files = flow.awx.launch(5100, os.path.join(PROJECT, "report_merge.yml"), names,
                                     extra_vars={"report_merge_sources": files}, template="VPS.org: merge patch reports")
        assert from_files.wait().status == "successful", from_files.runner.stdout.read()[-3000:]
        assert_same_fleet(summary, from_files.report("patch_with_rollback-fleet-report.json"))
    finally:
        fleet.stop()
