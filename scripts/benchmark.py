"""Figures, not assertions: requests and seconds per task against the simulator.

Run with scripts/benchmark (it sets up the venv and the collection path).
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet  # noqa: E402
from vpsorg_sim.faults import FaultRule  # noqa: E402

HOSTS = [("web-%02d" % i, 100 + i, None) for i in range(1, 5)]


def playbook(fleet, tasks, forks=5):
    """Run ``tasks`` on localhost; return (seconds, requests by method, tasks changed)."""
    path = os.path.join(fleet.root, "bench.yml")
    play = [{"name": "Benchmark", "hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    with open(path, "w") as handle:
        json.dump(play, handle)
    fleet.sim.log.clear()
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_NOCOLOR="1", **fleet.env())
    started = time.monotonic()
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", "localhost,",
                              "-e", "ansible_python_interpreter=%s" % sys.executable, "-f", str(forks), path],
                             env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if process.returncode != 0:
        raise SystemExit(process.stdout[-3000:])
    counts = {}
    for entry in fleet.sim.log.entries():
        counts[entry["method"]] = counts.get(entry["method"], 0) + 1
    return seconds, counts


def snapshot_tasks(names, **extra):
    return [{"name": "snapshot %s %s" % (server, name),
             "vpsorg.cloud.vpsorg_snapshot": dict({"server_id": server, "name": name}, **extra)}
            for server, name in names]


def report(label, tasks, seconds, counts):
    total = sum(counts.values())
    print("%-52s %5d tasks %7.1f s %6.2f s/task %5d requests %5.2f req/task  %s"
          % (label, tasks, seconds, seconds / tasks, total, total / tasks, dict(sorted(counts.items()))))


def main():
    with tempfile.TemporaryDirectory(prefix="vpsorg-bench-") as root:
        fleet = Fleet(root, HOSTS, durations={"snapshot": 2.0, "backup": 2.0, "restore": 2.0})
        try:
            names = [(100 + i, "bench-%d" % n) for i in range(1, 5) for n in range(1, 4)]
            report("create snapshot + wait (2 s operation)", len(names), *playbook(fleet, snapshot_tasks(names)))
            report("idempotent re-run", len(names), *playbook(fleet, snapshot_tasks(names)))
            report("check mode re-run", len(names), *playbook(fleet, [dict(t, check_mode=True) for t in snapshot_tasks(names)]))

            fleet.sim.state.configure(page_size=10)
            for n in range(60):
                fleet.sim.state.seed_automatic_backup(101 + n % 4)
            info = [{"name": "backup info", "vpsorg.cloud.vpsorg_backup_info": {}}]
            report("backup_info over 60 backups, page size 10", 1, *playbook(fleet, info))
            fleet.sim.state.configure(page_size=None)

            fleet.sim.faults.add(FaultRule("429", rate=0.3, retry_after=1))
            fleet.sim.faults.add(FaultRule("commit_drop", rate=0.05))
            faulty = [(100 + i, "faulty-%d" % n) for i in range(1, 5) for n in range(1, 3)]
            report("create under 30% 429 (Retry-After 1) + 5% lost POSTs", len(faulty),
                   *playbook(fleet, snapshot_tasks(faulty, wait=False)))
            fleet.sim.faults.clear()

            for name, server_id, _breaks in HOSTS:
                for snap in fleet.sim.state.list_snapshots(server_id):
                    fleet.sim.state.delete_snapshot(snap["id"])
            fleet.sim.log.clear()
            started = time.monotonic()
            process, result = fleet.run({"patch_with_rollback_run_id": "bench"})
            seconds = time.monotonic() - started
            counts = {}
            for entry in fleet.sim.log.entries():
                counts[entry["method"]] = counts.get(entry["method"], 0) + 1
            statuses = sorted(set(e["status"] for e in result["hosts"].values())) if result else process.stdout[-500:]
            report("patch_with_rollback, 4 hosts (%s)" % statuses, len(HOSTS), seconds, counts)
        finally:
            fleet.stop()


if __name__ == "__main__":
    main()
