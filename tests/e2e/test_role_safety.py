"""patch_with_rollback's safety nets, end to end: quiesce and thaw, canary waves, unresolved rollbacks, dry runs."""

import json
import os
import re
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet, read, write  # noqa: E402

FAST = {"snapshot": 0.3, "backup": 0.3, "restore": 0.5}
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


@pytest.fixture
def make_fleet(tmp_path):
    made = []

    def make(hosts):
        made.append(Fleet(str(tmp_path / ("fleet-%d" % len(made))), hosts, durations=FAST))
        return made[-1]

    yield make
    for fleet in made:
        fleet.stop()


def statuses(report):
    return {name: entry["status"] for name, entry in report["hosts"].items()}


def mutating(fleet):
    return [e["method"] + " " + e["path"] for e in fleet.sim.log.entries() if e["method"] in MUTATING]


def recap(process):
    """{host: {'ok': n, 'changed': n, 'failed': n, ...}} from the PLAY RECAP."""
    lines = process.stdout[process.stdout.index("PLAY RECAP"):].splitlines()[1:]
    found = {}
    for line in lines:
        match = re.match(r"^(\S+)\s+:\s+(.*)$", line)
        if match:
            found[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
    return found


def test_thaw_follows_the_snapshot_and_runs_even_when_the_snapshot_fails(make_fleet, tmp_path):
    fleet = make_fleet([("web-01", 101, None), ("web-02", 102, "health")])
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    # Each step is logged beside the disk; "quiesced" is on the disk only between quiesce and thaw,
    # so a snapshot taken in between holds it.
    (tasks / "quiesce.yml").write_text(
        "- name: Log the quiesce\n"
        "  ansible.builtin.shell: echo quiesce >> {{ demo_disk }}.steps && echo yes > {{ demo_disk }}/quiesced\n"
        "  changed_when: true\n")
    (tasks / "thaw.yml").write_text(
        "- name: Log the thaw\n"
        "  ansible.builtin.shell: echo thaw >> {{ demo_disk }}.steps && rm {{ demo_disk }}/quiesced\n"
        "  changed_when: true\n")
    fleet.sim.state.plan_outcome("snapshot", "failed", server_id=101)
    process, report = fleet.run({"patch_with_rollback_quiesce_tasks": str(tasks / "quiesce.yml"),
                                 "patch_with_rollback_thaw_tasks": str(tasks / "thaw.yml"),
                                 "patch_with_rollback_max_fail_percentage": 100})
    assert statuses(report) == {"web-01": "not_patched", "web-02": "rolled_back"}, process.stdout[-4000:]
    for name in ("web-01", "web-02"):
        assert read(fleet.disk(name) + ".steps") == "quiesce\nthaw\n"

    # web-01: the snapshot failed after the quiesce; the thaw ran anyway and nothing was patched.
    web01 = report["hosts"]["web-01"]
    assert "Take the snapshot" in web01["message"] and web01["durations"]["patch"] is None
    assert not os.path.exists(os.path.join(fleet.disk("web-01"), "quiesced"))
    assert read(os.path.join(fleet.disk("web-01"), "app.conf")) == "version=1\n"

    # web-02 was restored from its snapshot, which was taken between quiesce and thaw.
    assert read(os.path.join(fleet.disk("web-02"), "quiesced")) == "yes\n"
    assert read(os.path.join(fleet.disk("web-02"), "app.conf")) == "version=1\n"


def test_waves_stop_after_a_bad_first_wave(make_fleet):
    hosts = [("canary", 101, "health"), ("web-02", 102, None), ("web-03", 103, None), ("web-04", 104, None)]
    fleet = make_fleet(hosts)
    process, report = fleet.run({"patch_with_rollback_first_wave": 1, "patch_with_rollback_wave_size": 2})
    assert process.returncode == 2
    assert statuses(report) == {"canary": "rolled_back", "web-02": "not_started", "web-03": "not_started",
                                "web-04": "not_started"}, process.stdout[-4000:]
    assert [report["hosts"][name]["wave"] for name, _id, _b in hosts] == [1, 2, 2, 3]
    assert "in wave 1, 1 of 1 hosts did not end patched (canary)" in report["hosts"]["web-02"]["message"]
    assert "the run stopped before this host's wave" in report["hosts"]["web-04"]["message"]
    for name in ("web-02", "web-03", "web-04"):
        assert report["hosts"][name]["cause"] == report["hosts"][name]["message"]
    # Untouched: no snapshot, no patch, not even a read of the servers of the hosts never started.
    for server_id in (102, 103, 104):
        assert not [e for e in fleet.sim.log.entries()
                    if "/%d/" % server_id in e["path"] or "server_id=%d" % server_id in e["query"]]
    assert [s["server"]["name"] for s in fleet.sim.state.list_snapshots()] == ["canary"]
    for name, _id, _breaks in hosts:
        assert read(os.path.join(fleet.disk(name), "app.conf")) == "version=1\n"


def test_an_unresolved_rollback_is_protected_until_the_operator_resolves_it(make_fleet):
    fleet = make_fleet([("web-01", 101, "health")])
    # keep 1: rotation would delete the kept snapshot at once, if the host were ever patched again unresolved.
    settings = {"patch_with_rollback_rotate_keep": 1}
    process, first = fleet.run(settings)
    assert statuses(first) == {"web-01": "rolled_back"}, process.stdout[-4000:]
    kept = first["hosts"]["web-01"]
    assert kept["snapshot_name"] == "pre-patch-" + first["run_id"]
    [snapshot] = fleet.sim.state.list_snapshots(101)
    assert snapshot["id"] == kept["snapshot_id"]
    assert "run %s" % first["run_id"] in snapshot["description"] and snapshot["server"]["id"] == 101

    # The patch is fixed, but nobody said the host is resolved: the next two runs refuse it.
    fixed = {"web-01": {"demo_breaks": "nothing"}}
    for _attempt in range(2):
        fleet.sim.log.clear()
        process, report = fleet.run(settings, extra_host_vars=fixed)
        entry = report["hosts"]["web-01"]
        assert entry["status"] == "unresolved", process.stdout[-4000:]
        assert process.returncode == 2
        assert "snapshot %s (id %d" % (snapshot["name"], snapshot["id"]) in entry["message"]
        assert "patch_with_rollback_resolved_hosts" in entry["manual_step"]
        assert "vpsorg.cloud.restore" in entry["manual_step"] and "snapshot_id=%d" % snapshot["id"] in entry["manual_step"]
        assert mutating(fleet) == []
        assert fleet.sim.state.list_snapshots(101) == [snapshot]
        assert read(os.path.join(fleet.disk("web-01"), "app.conf")) == "version=1\n"

    # Resolved: patched, and the old snapshot is an ordinary one again, which rotation (keep 1) replaces.
    fleet.sim.log.clear()
    # Given on the command line as a plain string, as an operator may type it.
    process, report = fleet.run(settings, extra_host_vars=fixed, args=["-e", "patch_with_rollback_resolved_hosts=web-01"])
    entry = report["hosts"]["web-01"]
    assert entry["status"] == "patched", process.stdout[-4000:]
    assert entry["preflight"]["marked_resolved"] == [snapshot["name"]]
    assert entry["rotation_deleted"] == [snapshot["name"]]
    assert fleet.sim.state.list_snapshots(101) == []
    record = json.loads(read(os.path.join(fleet.disk("web-01"), "var", "lib", "vpsorg-patch-with-rollback", snapshot["name"])))
    assert record["status"] == "resolved"


def test_a_dry_run_changes_nothing_and_says_what_would_happen(make_fleet, tmp_path):
    # "full" goes first, alone: a dry run reports every host, so its wave does not stop the next one.
    fleet = make_fleet([("full", 102, None), ("web-01", 101, None), ("left", 103, None), ("ghost", 104, None)])
    state = fleet.sim.state
    # web-01: two earlier runs that ended patched (their snapshots kept); rotation (keep 2) would delete the older.
    ledger = os.path.join(fleet.disk("web-01"), "var", "lib", "vpsorg-patch-with-rollback")
    os.makedirs(ledger)
    for name in ("pre-patch-r1", "pre-patch-r2"):
        state.create_snapshot(101, name)
        write(os.path.join(ledger, name), '{"status": "patched"}\n')
    # full: at the API's limit with snapshots the role does not own.
    for n in range(5):
        state.create_snapshot(102, "manual-%d" % n)
    # left: a rollback of an earlier run that nobody resolved.
    state.create_snapshot(103, "pre-patch-r0")
    before = {name: read(os.path.join(fleet.disk(name), "app.conf")) for name in ("web-01", "full", "left", "ghost")}
    ghost = {"ghost": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
                       "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}}
    cwd = tmp_path / "operator"
    cwd.mkdir()
    fleet.sim.log.clear()
    process, report = fleet.run({"patch_with_rollback_first_wave": 1}, extra_host_vars=ghost, args=["--check"],
                                report_path=None, cwd=str(cwd))

    assert process.returncode == 0, process.stdout[-4000:]
    assert mutating(fleet) == []
    assert report is not None and report["dry_run"] is True  # written in the current directory by default
    assert not os.path.exists(os.path.join(ROOT, "playbooks", "patch_with_rollback-report.json"))
    assert statuses(report) == {"full": "not_patched", "web-01": "would_patch", "left": "unresolved",
                                "ghost": "not_patched"}
    assert [report["hosts"][name]["wave"] for name in ("full", "web-01", "left", "ghost")] == [1, 2, 2, 2]
    hosts = report["hosts"]
    assert hosts["web-01"]["preflight"]["rotation_would_delete"] == ["pre-patch-r1"]
    assert "take snapshot pre-patch-%s (rotation deleting pre-patch-r1)" % report["run_id"] in hosts["web-01"]["message"]
    assert hosts["web-01"]["preflight"]["room"] is True and hosts["web-01"]["preflight"]["passed"] is True
    assert hosts["full"]["preflight"]["room"] is False and "No room for the snapshot" in hosts["full"]["message"]
    assert [s["name"] for s in hosts["left"]["preflight"]["unresolved_snapshots"]] == ["pre-patch-r0"]
    assert hosts["ghost"]["preflight"]["reachable"] is False
    assert all(entry["dry_run"] for entry in hosts.values())
    # Nothing changed, nothing failed: every task says ok (or skipped).
    for host, counts in recap(process).items():
        assert counts["changed"] == 0 and counts["failed"] == 0, (host, counts)
    assert {name: read(os.path.join(fleet.disk(name), "app.conf")) for name in before} == before
    assert not os.path.exists(os.path.join(fleet.disk("left"), "var"))
    assert "(dry run)" in process.stdout


SHARED = "Refused: hosts web, db all name server 101 (vpsorg_server_id)"


def test_two_hosts_on_one_server_are_refused_before_any_snapshot(make_fleet):
    # web and db are two names for server 101 (one disk); db's patch would fail. app has a server of its own.
    fleet = make_fleet([("web", 101, None), ("db", 101, "health"), ("app", 102, None)])
    settings = {"patch_with_rollback_first_wave": "100%", "patch_with_rollback_max_fail_percentage": 100}

    # The dry run says so first, and changes nothing.
    process, report = fleet.run(settings, args=["--check"])
    assert statuses(report) == {"web": "not_patched", "db": "not_patched", "app": "would_patch"}, process.stdout[-4000:]
    assert report["hosts"]["web"]["message"].startswith("Dry run: would not patch. " + SHARED)
    assert mutating(fleet) == []

    fleet.sim.log.clear()
    process, report = fleet.run(settings)
    assert process.returncode == 2
    assert statuses(report) == {"web": "not_patched", "db": "not_patched", "app": "patched"}, process.stdout[-4000:]
    for host, other in (("web", "db"), ("db", "web")):
        entry = report["hosts"][host]
        assert entry["cause"].startswith(SHARED) and entry["snapshot_id"] is None and entry["server_id"] == 101
        assert entry["preflight"]["shares_server_with"] == [other]
        assert entry["durations"]["snapshot"] is None and entry["durations"]["patch"] is None
    # One snapshot was taken, app's, and cleaned up; server 101 was never snapshotted nor restored.
    app = report["hosts"]["app"]
    assert app["server_id"] == 102 and app["preflight"]["shares_server_with"] == []
    assert mutating(fleet) == ["POST /api/v1/snapshots/", "DELETE /api/v1/snapshots/%d/" % app["snapshot_id"]]
    assert fleet.sim.state.list_snapshots(101) == []
    assert read(os.path.join(fleet.disk("web"), "app.conf")) == "version=1\n"
    assert read(os.path.join(fleet.disk("app"), "app.conf")) == "version=2\n"


def test_two_hosts_on_one_server_in_waves_of_one_are_refused_in_each_wave(make_fleet):
    fleet = make_fleet([("web", 101, None), ("db", 101, "health"), ("app", 102, None)])
    process, report = fleet.run({"patch_with_rollback_first_wave": 1, "patch_with_rollback_wave_size": 1,
                                 "patch_with_rollback_max_fail_percentage": 100})
    assert statuses(report) == {"web": "not_patched", "db": "not_patched", "app": "patched"}, process.stdout[-4000:]
    assert [report["hosts"][name]["wave"] for name in ("web", "db", "app")] == [1, 2, 3]
    # db's wave knows web from the wave before it: no wave patches the server.
    for host in ("web", "db"):
        assert report["hosts"][host]["cause"].startswith(SHARED)
    app = report["hosts"]["app"]
    assert mutating(fleet) == ["POST /api/v1/snapshots/", "DELETE /api/v1/snapshots/%d/" % app["snapshot_id"]]
    assert fleet.sim.state.list_snapshots(101) == []
    assert read(os.path.join(fleet.disk("db"), "app.conf")) == "version=1\n"
