"""Fleets: many servers in one task, polled together, and deletes that do not list the account.

Request counts are asserted exactly from the simulator's log.
"""

import pytest

from playbook_tasks import requests_of, run_tasks, task_result
from test_api_as_it_behaves import in_background, wait_for_log

FLEET = list(range(201, 211))


@pytest.fixture
def sim(vpsorg_sim):
    vpsorg_sim.control.configure(durations={"snapshot": 0, "backup": 0, "restore": 0})
    for server_id in FLEET:
        vpsorg_sim.control.add_server(server_id)
    vpsorg_sim.control.clear_requests()
    return vpsorg_sim


def fleet_task(state="present", extra=""):
    return """
        - name: One snapshot per server of the fleet
          vpsorg.cloud.vpsorg_snapshot:
            server_ids: %s
            name: fleet-1
            state: %s%s
          register: result
    """ % (FLEET, state, extra)


def test_a_fleet_costs_one_read_per_phase(sim, playbook):
    process = run_tasks(playbook, sim, fleet_task())
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert [r["server_id"] for r in result["results"]] == FLEET
    assert all(r["changed"] and r["snapshot"]["status"] == "completed" for r in result["results"])
    methods = [(e["method"], e["query"]) for e in sim.control.requests()]
    # One account-wide listing, one POST per server, one listing to look for racing twins (it shows them done).
    assert methods == [("GET", "")] + [("POST", "")] * len(FLEET) + [("GET", "")]
    sim.control.clear_requests()
    again = run_tasks(playbook, sim, fleet_task())
    assert not task_result(again)["changed"]
    assert [e["method"] for e in sim.control.requests()] == ["GET"]


def test_a_server_named_twice_is_one_server(sim, playbook):
    # As an inventory with two hosts on one server gives it: 201 twice.
    task = fleet_task().replace(str(FLEET), str([201, 202, 201]))
    process = run_tasks(playbook, sim, task)
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert [r["server_id"] for r in result["results"]] == [201, 202]
    assert [e["method"] for e in sim.control.requests()] == ["GET", "POST", "POST", "GET"]
    assert [s["server"]["id"] for s in sim.server.state.list_snapshots()] in ([201, 202], [202, 201])


def test_a_fleet_waits_with_one_listing_per_poll(sim, playbook):
    sim.control.hold("snapshot")
    finished = in_background(lambda: run_tasks(playbook, sim, fleet_task()))
    # Two polls that see every snapshot still running, then let them end.
    wait_for_log(sim, lambda log: len([e for e in log if e["method"] == "GET"]) >= 4)
    sim.control.release("snapshot")
    process = finished()
    assert process.returncode == 0, process.stdout[-3000:]
    gets = requests_of(sim, "GET")
    assert all(e["query"] == "" for e in gets)  # account-wide, never per server
    posts = requests_of(sim, "POST")
    assert len(posts) == len(FLEET)
    # The first look, the look for twins, and every poll: each one request for the whole fleet.
    assert len(gets) >= 4


def test_one_server_failing_does_not_stop_the_others(sim, playbook):
    for index in range(5):
        sim.server.state.create_snapshot(FLEET[0], "full-%d" % index)
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, fleet_task() + "      ignore_errors: true\n")
    result = task_result(process)
    assert result["failed"] and "1 of 10 servers failed" in result["msg"]
    first = result["results"][0]
    assert first["failed"] and "already has 5 snapshots" in first["msg"] and not first["changed"]
    assert all(r["changed"] for r in result["results"][1:])
    assert len(requests_of(sim, "POST")) == len(FLEET) - 1


def test_a_fleet_is_pruned_and_deleted_by_name_with_one_listing(sim, playbook):
    run_tasks(playbook, sim, fleet_task())
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, fleet_task(state="absent"))
    assert process.returncode == 0, process.stdout[-3000:]
    assert [e["method"] for e in sim.control.requests()] == ["GET"] + ["DELETE"] * len(FLEET)
    assert sim.server.state.list_snapshots() == []


@pytest.mark.parametrize("guard,expected", [("", ["DELETE"]), ("server_id: 201", ["GET", "DELETE"])])
def test_delete_by_id_does_not_list_the_account(sim, playbook, guard, expected):
    sim.control.configure(page_size=10)
    ids = [sim.server.state.create_snapshot(server_id, "s-%d" % n)["id"] for server_id in FLEET for n in range(5)]
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: Delete one snapshot of fifty by id
          vpsorg.cloud.vpsorg_snapshot:
            snapshot_id: %d
            state: absent
            %s
          register: result
    """ % (ids[0], guard))
    assert process.returncode == 0, process.stdout[-3000:]
    assert task_result(process)["changed"]
    assert [e["method"] for e in sim.control.requests()] == expected
    sim.control.clear_requests()
    again = run_tasks(playbook, sim, """
        - name: Delete it again
          vpsorg.cloud.vpsorg_snapshot:
            snapshot_id: %d
            state: absent
          register: result
    """ % ids[0])
    assert not task_result(again)["changed"]
    assert [(e["method"], e["status"]) for e in sim.control.requests()] == [("DELETE", 404)]
