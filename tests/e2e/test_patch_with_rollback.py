"""The role patch_with_rollback end to end: real playbook runs against simulated servers with disks."""

import json
import os
import sys
import threading
import time

import pytest

import runner_results
from conftest import ROOT, collections_path

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import DEMO_FLEET, Fleet, read  # noqa: E402

FAST = {"snapshot": 0.3, "backup": 0.3, "restore": 0.5}


@pytest.fixture
def make_fleet(tmp_path):
    made = []

    def make(hosts=DEMO_FLEET, durations=None):
        made.append(Fleet(str(tmp_path), hosts, durations=durations or FAST))
        return made[-1]

    yield make
    for fleet in made:
        fleet.stop()


def snapshots(fleet):
    return fleet.sim.state.list_snapshots()


def statuses(report):
    return {name: entry["status"] for name, entry in report["hosts"].items()}


def test_demo_scenario_rolls_back_the_broken_hosts(make_fleet):
    fleet = make_fleet()
    process, report = fleet.run()
    assert process.returncode == 2, process.stdout[-3000:]  # the rolled-back hosts end failed
    assert statuses(report) == {"web-01": "patched", "web-02": "rolled_back", "db-01": "patched", "cache-01": "rolled_back"}
    for name, server_id, breaks in DEMO_FLEET:
        disk = fleet.disk(name)
        assert read(os.path.join(disk, "app.conf")) == ("version=1\n" if breaks else "version=2\n")
        assert read(os.path.join(disk, "health")) == "ok\n"
        assert not os.path.exists(os.path.join(disk, "network"))
        assert fleet.sim.state.health(server_id)[0] == 200
    # Cleanup deletes the snapshots of patched hosts; rolled-back hosts keep theirs.
    kept = {s["server"]["name"]: s for s in snapshots(fleet)}
    assert sorted(kept) == ["cache-01", "web-02"]
    for name in ("web-02", "cache-01"):
        entry = report["hosts"][name]
        assert entry["snapshot_id"] == kept[name]["id"] and entry["snapshot_kept"]
        assert "restored from snapshot %s (id %d) and verified" % (entry["snapshot_name"], entry["snapshot_id"]) in entry["message"]
        assert entry["durations"]["rollback"] is not None and entry["failed_phase"] == "verify"
        assert "marked resolved" in entry["manual_step"]
    assert report["hosts"]["cache-01"]["cause"].startswith(
        "Reach the host through a fresh connection: The host did not open port %d within " % fleet.sim.ports.port_of(
            dict((name, server_id) for name, server_id, _breaks in DEMO_FLEET)["cache-01"])), report["hosts"]["cache-01"]["cause"]
    assert report["hosts"]["web-02"]["cause"].startswith("Check the HTTP endpoints: http")
    assert "Status code was 503" in report["hosts"]["web-02"]["cause"]
    for name in ("web-01", "db-01"):
        entry = report["hosts"][name]
        assert entry["message"] == "Patched and verified." and entry["manual_step"] is None and entry["cause"] is None
        assert entry["snapshot_kept"] is False and entry["snapshot_name"] == "pre-patch-" + report["run_id"]
        assert all(entry["durations"][phase] is not None for phase in ("preflight", "snapshot", "patch", "verify", "cleanup"))
        assert entry["durations"]["rollback"] is None
        assert entry["durations"]["total"] >= sum(v for k, v in entry["durations"].items() if k != "total" and v) - 0.5
    assert report["statuses"] == {"patched": 2, "rolled_back": 2} and report["dry_run"] is False
    assert [report["hosts"][name]["wave"] for name, _id, _b in DEMO_FLEET] == [1, 2, 2, 2]
    # The summary at the end of the play.
    assert "2 patched, 2 rolled_back" in process.stdout


def test_rerun_of_the_same_run_reuses_the_snapshot_and_keep_newest(make_fleet):
    fleet = make_fleet([("web-01", 101, None)])
    variables = {"patch_with_rollback_run_id": "change-42", "patch_with_rollback_cleanup": "keep"}
    first_process, first = fleet.run(variables)
    fleet.sim.log.clear()
    # The kept snapshot of a patched run is not an unresolved rollback: the re-run goes ahead and reuses it.
    second_process, second = fleet.run(variables)
    assert first_process.returncode == 0 and second_process.returncode == 0, second_process.stdout[-3000:]
    assert first["hosts"]["web-01"]["snapshot_reused"] is False
    assert second["hosts"]["web-01"]["snapshot_reused"] is True
    assert second["hosts"]["web-01"]["snapshot_id"] == first["hosts"]["web-01"]["snapshot_id"]
    assert [e for e in fleet.sim.log.entries() if e["method"] == "POST"] == []
    assert [s["name"] for s in snapshots(fleet)] == ["pre-patch-change-42"]

    # keep_newest keeps the newest N of the role's snapshots and never touches others.
    fleet.sim.state.create_snapshot(101, "precious")
    process, _report = fleet.run({"patch_with_rollback_run_id": "change-43", "patch_with_rollback_cleanup": "keep_newest",
                                  "patch_with_rollback_cleanup_keep": 1, "patch_with_rollback_rotate_keep": 4})
    assert process.returncode == 0, process.stdout[-3000:]
    assert sorted(s["name"] for s in snapshots(fleet)) == ["pre-patch-change-43", "precious"]


def test_a_failed_restore_keeps_the_snapshot_and_says_what_to_do(make_fleet):
    fleet = make_fleet([("web-02", 102, "health")])
    fleet.sim.state.plan_outcome("restore", server_id=102)
    process, report = fleet.run()
    assert process.returncode == 2
    assert statuses(report) == {"web-02": "rollback_failed"}
    entry = report["hosts"]["web-02"]
    assert "failed too" in entry["message"] and "The snapshot is kept" in entry["message"]
    # The failed restore left the server in error, which the API will not restore from.
    assert entry["server_status"] == "error"
    assert "the API refuses to restore a server in error" in entry["message"]
    assert entry["manual_step"] == ("Once server 102 is running or stopped again: ansible-playbook -i %s vpsorg.cloud.restore "
                                    "-e target=web-02 -e snapshot_id=%d" % (fleet.inventory(), entry["snapshot_id"]))
    assert [s["id"] for s in snapshots(fleet)] == [entry["snapshot_id"]]


def test_snapshot_only_mode(make_fleet):
    # Operations end by the next request, so every read below is determined.
    fleet = make_fleet(DEMO_FLEET[:2], durations={"snapshot": 0.0, "backup": 0.0, "restore": 0.0})
    process, report = fleet.run({"patch_with_rollback_snapshot_only": True, "patch_with_rollback_first_wave": "100%",
                                 "patch_with_rollback_throttle": 1}, args=["-f", "1"])
    assert process.returncode == 0, process.stdout[-3000:]
    assert set(statuses(report).values()) == {"snapshot_only"}
    assert sorted(s["server"]["name"] for s in snapshots(fleet)) == ["web-01", "web-02"]
    assert all(read(os.path.join(fleet.disk(name), "app.conf")) == "version=1\n" for name, _id, _b in DEMO_FLEET[:2])
    # Preflight: one listing for the wave (a host that answers proves its server runs: no server read).
    # The wave's snapshot task: one listing, both POSTs, then one listing that finds no racing twin, sees
    # both snapshots completed and plans the rotation.
    listing, create = ("GET", "/api/v1/snapshots/"), ("POST", "/api/v1/snapshots/")
    assert [(e["method"], e["path"]) for e in fleet.sim.log.entries()] == [listing, listing, create, create, listing]


def test_every_host_starts_its_snapshot_before_any_snapshot_is_waited_for(make_fleet):
    """One API slot (throttle 1): a host waiting for its snapshot must not keep the others from starting theirs."""
    hosts = [("web-%02d" % i, 200 + i, None) for i in range(1, 4)]
    fleet = make_fleet(hosts)
    fleet.sim.state.hold("snapshot")
    finished = []
    run = threading.Thread(target=lambda: finished.append(fleet.run(
        {"patch_with_rollback_snapshot_only": True, "patch_with_rollback_first_wave": "100%",
         "patch_with_rollback_throttle": 1})))
    run.start()
    posts = []
    while run.is_alive() and len(posts) < len(hosts):  # ends on a state: every POST, or the run's end
        time.sleep(0.2)
        posts = [e for e in fleet.sim.log.entries() if e["method"] == "POST"]
    fleet.sim.state.release("snapshot", finish=True)
    run.join()
    process, report = finished[0]
    assert len(posts) == len(hosts), "only %d snapshots started while the first was held" % len(posts)
    assert set(statuses(report).values()) == {"snapshot_only"}, process.stdout[-3000:]
    assert [e["method"] for e in fleet.sim.log.entries() if e["method"] != "GET"] == ["POST"] * len(hosts)


def test_a_host_whose_server_is_not_running_is_not_touched_and_its_server_status_said(make_fleet):
    """A stopped server's host does not answer; only then is the server read, to say why."""
    fleet = make_fleet([("web-01", 101, None)])
    fleet.sim.state.servers[101]["status"] = "stopped"
    down = {"web-01": {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": 1,
                       "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}}
    process, report = fleet.run(extra_host_vars=down)
    assert process.returncode == 2
    entry = report["hosts"]["web-01"]
    assert entry["status"] == "not_patched" and entry["preflight"]["server_status"] == "stopped"
    assert entry["cause"].startswith("Server 101 is stopped, not running. The host is unreachable"), entry["cause"]
    assert snapshots(fleet) == [] and read(os.path.join(fleet.disk("web-01"), "app.conf")) == "version=1\n"
    assert [(e["method"], e["path"]) for e in fleet.sim.log.entries()] == [
        ("GET", "/api/v1/snapshots/"), ("GET", "/api/v1/servers/101/")]


def test_eight_hosts_at_once_under_429_faults(make_fleet):
    hosts = [("host-%02d" % i, 300 + i, "health" if i in (2, 5) else None) for i in range(8)]
    fleet = make_fleet(hosts)
    from vpsorg_sim.faults import FaultRule
    fleet.sim.faults.add(FaultRule("429", rate=0.3, retry_after=1))
    process, report = fleet.run({"patch_with_rollback_throttle": 8, "patch_with_rollback_first_wave": "100%"},
                                env={"VPSORG_API_RETRIES": "12"}, args=["-f", "8"])
    expected = {name: "rolled_back" if breaks else "patched" for name, _id, breaks in hosts}
    assert statuses(report) == expected, process.stdout[-4000:]
    throttled = [e for e in fleet.sim.log.entries() if e["status"] == 429]
    assert throttled, "the fault never fired"
    assert sorted(s["server"]["name"] for s in snapshots(fleet)) == ["host-02", "host-05"]


def test_awx_style_run_through_ansible_runner_leaks_no_token(make_fleet, tmp_path, monkeypatch):
    ansible_runner = pytest.importorskip("ansible_runner")
    fleet = make_fleet([("web-01", 101, None), ("web-02", 102, "health")])
    private = tmp_path / "runner"
    (private / "env").mkdir(parents=True)
    (private / "project").mkdir()
    # As AWX injects a credential: the token is only in the job's environment.
    envvars = dict(fleet.env(), ANSIBLE_COLLECTIONS_PATH=collections_path())
    (private / "env" / "envvars").write_text(json.dumps(envvars))
    inventory = fleet.inventory()
    extra = {
        "patch_with_rollback_patch_tasks": os.path.join(ROOT, "demo", "patch_tasks.yml"),
        "patch_with_rollback_verify_timeout": 3,
        "awx_job_id": 4711,
    }
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])  # this venv's ansible-playbook
    result = ansible_runner.run(private_data_dir=str(private), playbook=os.path.join(ROOT, "playbooks", "patch_with_rollback.yml"),
                                inventory=inventory, extravars=extra, quiet=True)
    events = runner_results.events(result)
    assert result.status == "failed"  # web-02 was rolled back, so the job fails
    assert events, "no job events"
    dumped = json.dumps(events)
    assert fleet.sim.token not in dumped
    assert fleet.sim.token not in result.stdout.read()
    # No report path given: the report is among the job's artifacts, not in the collection.
    report = json.loads(open(os.path.join(result.config.artifact_dir, "patch_with_rollback-report.json")).read())
    assert not os.path.exists(os.path.join(ROOT, "playbooks", "patch_with_rollback-report.json"))
    assert report["run_id"] == "4711"
    assert statuses(report) == {"web-01": "patched", "web-02": "rolled_back"}
    stats = runner_results.stats_data(result)
    assert stats["patch_with_rollback"]["web-02"]["status"] == "rolled_back"
