"""The job-template playbooks, run by their FQCN against simulated servers."""

import os
import subprocess
import sys

from conftest import ROOT, collections_path

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet, read, write  # noqa: E402

HOSTS = [("web-01", 101, None), ("web-02", 102, None)]


def run(fleet, playbook, *extra):
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", fleet.inventory(),
               "vpsorg.cloud.%s" % playbook] + list(extra)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1", **fleet.env())
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_snapshot_prune_and_restore_playbooks(tmp_path):
    fleet = Fleet(str(tmp_path), HOSTS, durations={"snapshot": 0.2, "restore": 0.3})
    try:
        for name in ("m-1", "m-2", "m-3"):
            taken = run(fleet, "snapshot", "-e", "snapshot_name=%s" % name, "-e", "snapshot_prefix=m-",
                        "-e", "snapshot_keep=5")
            assert taken.returncode == 0, taken.stdout[-2000:]
        # One summary for the group, from the fleet task's result: no task per host.
        report = taken.stdout[taken.stdout.index("TASK [Report the group in one summary]"):]
        assert report.count("ok: [") == 1
        assert "2 servers: 2 new snapshots, 0 failed" in report
        assert '"101 %d completed"' % fleet.sim.state.list_snapshots(101)[-1]["id"] in report
        fleet.sim.state.create_snapshot(101, "other")
        names = sorted(s["name"] for s in fleet.sim.state.list_snapshots(101))
        assert names == ["m-1", "m-2", "m-3", "other"]

        pruned = run(fleet, "prune_snapshots", "-e", "prefix=m-", "-e", "keep=1")
        assert pruned.returncode == 0, pruned.stdout[-2000:]
        assert sorted(s["name"] for s in fleet.sim.state.list_snapshots(101)) == ["m-3", "other"]
        assert [s["name"] for s in fleet.sim.state.list_snapshots(102)] == ["m-3"]
        assert run(fleet, "prune_snapshots").returncode != 0  # no prefix: refused

        write(os.path.join(fleet.disk("web-01"), "app.conf"), "version=broken\n")
        no_source = run(fleet, "restore", "-e", "target=web-01")
        assert no_source.returncode != 0 and "exactly one of snapshot_id" in no_source.stdout
        restored = run(fleet, "restore", "-e", "target=web-01", "-e", "snapshot_name=m-3")
        assert restored.returncode == 0, restored.stdout[-2000:]
        assert read(os.path.join(fleet.disk("web-01"), "app.conf")) == "version=1\n"
        assert read(os.path.join(fleet.disk("web-02"), "app.conf")) == "version=1\n"
        assert run(fleet, "restore", "-e", "target=all", "-e", "snapshot_name=m-3").returncode != 0
    finally:
        fleet.stop()
