"""The role's rollback against an API that misbehaves: it must bring the broken host back anyway.

One host's patch breaks its health check. While its rollback runs, the list
order moves between page requests (pages of one), the restore POST meets an
HTTP 503 and the server reads meet HTTP 500s. The host must end rolled_back,
its disk restored and healthy.
"""

import concurrent.futures
import os
import sys
import time

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet, read  # noqa: E402
from vpsorg_sim.faults import FaultRule  # noqa: E402

HOST = ("web-02", 102, "health")


def wait_until(condition):
    """Poll a condition of the simulator's state; a state, not a duration, ends the wait."""
    for _attempt in range(6000):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("the run never reached the expected state")


def test_rollback_survives_a_fault_on_its_requests(tmp_path):
    fleet = Fleet(str(tmp_path), (HOST,), durations={"snapshot": 0, "backup": 0, "restore": 0})
    try:
        sim = fleet.sim
        sim.state.configure(order="reshuffle", page_size=1)
        # Hold the snapshot so the faults are armed only once the patch phase is ahead.
        sim.state.hold("snapshot", 102)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            run = pool.submit(fleet.run, {"patch_with_rollback_run_id": "faults"})
            wait_until(lambda: any(e["method"] == "POST" and e["path"] == "/api/v1/snapshots/"
                                   for e in sim.log.entries()))
            snapshot_id = sim.state.list_snapshots(102)[0]["id"]
            sim.faults.add(FaultRule("503", count=1, methods=["POST"], path="/snapshots/%d/restore/" % snapshot_id))
            sim.faults.add(FaultRule("500", count=2, methods=["GET"], path="/servers/102/"))
            sim.state.release("snapshot", 102)
            process, report = run.result(timeout=900)
        assert report is not None, process.stdout[-3000:]
        entry = report["hosts"]["web-02"]
        assert entry["status"] == "rolled_back", (entry, process.stdout[-3000:])
        assert read(os.path.join(fleet.disk("web-02"), "app.conf")) == "version=1\n"
        assert sim.state.health(102)[0] == 200
        restores = [e for e in sim.log.entries() if e["method"] == "POST" and e["path"].endswith("/restore/")]
        # The 503 came before the API acted, the server was not restoring, so the restore was sent once more.
        assert [e["status"] for e in restores] == [503, 200]
        server_reads = [e["status"] for e in sim.log.entries() if e["path"] == "/api/v1/servers/102/"]
        assert server_reads.count(500) == 2
    finally:
        fleet.stop()
