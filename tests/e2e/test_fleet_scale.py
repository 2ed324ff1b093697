"""A fleet at scale: creates in flight together within api_concurrency, fewer after a 429.

How many requests were in flight together is read from the simulator's log:
each entry says when the request came in (``started``) and when it was
answered (``time``).
"""

import pytest

from playbook_tasks import requests_of, run_tasks, task_result

FLEET = list(range(301, 313))


@pytest.fixture
def sim(vpsorg_sim):
    vpsorg_sim.control.configure(durations={"snapshot": 0, "backup": 0, "restore": 0})
    for server_id in FLEET:
        vpsorg_sim.control.add_server(server_id)
    vpsorg_sim.control.clear_requests()
    return vpsorg_sim


def fleet_task(extra=""):
    return """
        - name: One snapshot per server of the fleet
          vpsorg.cloud.vpsorg_snapshot:
            server_ids: %s
            name: fleet-1%s
          register: result
    """ % (FLEET, extra)


def most_in_flight(entries):
    """The most requests of ``entries`` that the API held at one moment."""
    events = sorted([(e["started"], 1) for e in entries] + [(e["time"], -1) for e in entries])
    most = current = 0
    for _when, step in events:
        current += step
        most = max(most, current)
    return most


def one_snapshot_per_server_in_order(sim, result):
    assert [r["server_id"] for r in result["results"]] == FLEET
    assert [r["snapshot"]["server"]["id"] for r in result["results"]] == FLEET
    assert all(r["changed"] and r["snapshot"]["status"] == "completed" for r in result["results"])
    snapshots = sim.server.state.list_snapshots()
    assert sorted(s["server"]["id"] for s in snapshots) == FLEET  # no duplicate, none missing


@pytest.mark.parametrize("concurrency", [8, 3])
def test_creates_are_in_flight_together_and_never_more_than_the_cap(sim, playbook, concurrency):
    # The first creates are held until `concurrency` of them are inside the API together: only a pool that
    # sends that many at once gets past the barrier without its timeout. One of them is carried out but
    # answered with a 500: its own look at its server finds it, and it is not sent again.
    sim.control.fault("barrier", count=concurrency, methods=["POST"], path="/snapshots/")
    sim.control.fault("commit_fail", count=1, methods=["POST"], path="/snapshots/")
    extra = "" if concurrency == 8 else "\n            api_concurrency: %d" % concurrency
    process = run_tasks(playbook, sim, fleet_task(extra))
    assert process.returncode == 0, process.stdout[-3000:]
    one_snapshot_per_server_in_order(sim, task_result(process))
    # The log is in the order the answers left; the barrier held the first arrivals.
    posts = sorted(requests_of(sim, "POST"), key=lambda entry: entry["started"])
    assert len(posts) == len(FLEET)
    gathered = posts[:concurrency]
    assert sorted(p["fault"] for p in gathered) == sorted(["commit_fail"] + ["barrier"] * (concurrency - 1))
    # All of the first `concurrency` creates were in the API before the first of them was answered.
    assert max(p["started"] for p in gathered) < min(p["time"] for p in gathered)
    assert most_in_flight(posts) == concurrency
    # The create whose answer was lost looked at its own server only, once.
    looks = [e for e in requests_of(sim, "GET") if e["query"].startswith("server_id=")]
    assert len(looks) == 1


def test_a_429_halves_the_pool_and_honours_retry_after(sim, playbook):
    fleet = FLEET + [313, 314]
    for server_id in fleet[len(FLEET):]:
        sim.control.add_server(server_id)
    sim.control.fault("barrier", count=8, methods=["POST"], path="/snapshots/")
    sim.control.fault("429", count=1, methods=["POST"], path="/snapshots/", retry_after=1)
    # The creates sent after the 429 are slow, so that more than four of them would be seen together if the
    # pool did not shrink.
    sim.control.fault("slow", rate=1.0, delay=1.5, methods=["POST"], path="/snapshots/", skip=7)
    process = run_tasks(playbook, sim, fleet_task().replace(str(FLEET), str(fleet)))
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert [r["snapshot"]["server"]["id"] for r in result["results"]] == fleet
    assert sorted(s["server"]["id"] for s in sim.server.state.list_snapshots()) == fleet
    posts = requests_of(sim, "POST")
    throttled = [p for p in posts if p["status"] == 429]
    assert len(throttled) == 1 and len(posts) == len(fleet) + 1
    answered_429 = throttled[0]["time"]
    assert not [e for e in requests_of(sim, "GET") if e["query"]]  # a 429 did nothing: no look before the retry
    # Once the Retry-After had passed, the creates (the refused one among them) went through a pool of four.
    # (Those that slipped in before the client had read the 429 started earlier and are left out.)
    later = [p for p in posts if p["started"] >= answered_429 + 1.0]
    assert later
    assert most_in_flight(later) <= 4
    assert most_in_flight(posts) == 8


def test_a_group_of_ten_in_an_account_of_a_thousand_reads_server_by_server(vpsorg_sim, playbook):
    sim = vpsorg_sim
    sim.control.configure(durations={"snapshot": 0, "backup": 0, "restore": 0}, page_size=10)
    state = sim.server.state
    for server_id in range(1001, 2001):
        state.add_server(server_id, "server-%d" % server_id)
        for day in range(1, 6):
            state.create_snapshot(server_id, "nightly-2026110%d" % day)
    group = list(range(1501, 1511))
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: A nightly snapshot of ten servers, keeping four
          vpsorg.cloud.vpsorg_snapshot:
            server_ids: %s
            name: nightly-20261106
            rotate:
              prefix: nightly-
              keep: 4
          register: result
    """ % group)
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert all(r["changed"] and r["snapshot"]["status"] == "completed" and len(r["deleted_snapshots"]) == 2
               for r in result["results"])
    # The account's first page says it takes 500 pages; ten servers cost ten.
    assert result["list_reads"] == [{"servers": 10, "read": "per_server", "account_pages": 500}] * 2
    log = sim.control.requests()
    gets = [e for e in log if e["method"] == "GET"]
    assert [e["query"] for e in gets[:1]] == [""]
    assert sorted(e["query"] for e in gets[1:]) == sorted(["server_id=%d" % s for s in group] * 2)
    # 1 first page + 10 reads, 10 deletes to make room, 10 creates, 10 reads to look for twins (they show the
    # snapshots completed), 10 deletes by rotation.
    assert len(log) == 51 == result["api_calls"]
    assert [e["method"] for e in log].count("DELETE") == 20
    assert [e["method"] for e in log].count("POST") == 10


def test_a_cross_server_restore_reads_only_the_source_servers_list(vpsorg_sim, playbook):
    sim = vpsorg_sim
    sim.control.configure(durations={"snapshot": 0, "backup": 0, "restore": 0}, page_size=10)
    state = sim.server.state
    for server_id in range(1001, 1201):
        state.add_server(server_id, "server-%d" % server_id)
        state.create_backup(server_id, "manual-%d" % server_id)
    source = [b for b in state.list_backups() if b["server"]["id"] == 1150][0]
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: Restore server 1001 from server 1150's backup, saying where it lives
          vpsorg.cloud.vpsorg_restore:
            server_id: 1001
            backup_id: %d
            source_server_id: 1150
            allow_cross_server: true
          register: result
    """ % source["id"])
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert result["changed"] and result["source"]["id"] == source["id"]
    log = [(e["method"], e["path"], e["query"]) for e in sim.control.requests()]
    polls = log[3:]
    assert log[:3] == [("GET", "/api/v1/servers/1001/", ""), ("GET", "/api/v1/backups/", "server_id=1150"),
                       ("POST", "/api/v1/servers/1001/restore/", "")]
    assert set(polls) <= {("GET", "/api/v1/servers/1001/", "")}


def test_a_source_not_on_the_source_server_restores_nothing(vpsorg_sim, playbook):
    sim = vpsorg_sim
    state = sim.server.state
    for server_id in (1001, 1002, 1003):
        state.add_server(server_id, "server-%d" % server_id)
    backup = state.create_backup(1003, "elsewhere")
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: A backup said to live on a server that does not hold it
          vpsorg.cloud.vpsorg_restore:
            server_id: 1001
            backup_id: %d
            source_server_id: 1002
            allow_cross_server: true
          register: result
          ignore_errors: true
    """ % backup["id"])
    result = task_result(process)
    assert result["failed"] and "does not exist on server 1002" in result["msg"]
    assert [e["method"] for e in sim.control.requests()] == ["GET", "GET"]
