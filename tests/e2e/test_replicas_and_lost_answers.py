"""Lists read through replicas that take turns, changes whose answer is lost, and a race that loses one.

Each test runs real ansible-playbook tasks against the simulator and asserts,
from the simulator's request log, exactly which ids were made, kept and
deleted, and what each task reported.
"""

import json
import re

import pytest

from playbook_tasks import requests_of, run_tasks, task_result

FAST = {"snapshot": 0, "backup": 0, "restore": 0}
FIRST_ID = 801  # the simulator's first snapshot id


@pytest.fixture
def sim(vpsorg_sim):
    vpsorg_sim.control.configure(durations=FAST)
    return vpsorg_sim


def snapshot_path(object_id):
    return "/api/v1/snapshots/%d/" % object_id


def made_snapshots(sim, names, server_id=101):
    """Completed snapshots made straight in the simulator (not under test), oldest first."""
    made = []
    for offset, name in enumerate(names):
        with sim.server.state.lock:
            view = sim.server.state.create_snapshot(server_id, name)
            sim.server.state.snapshots[view["id"]]["created_at"] -= 3600 - offset * 60
        made.append(view["id"])
    sim.control.release(finish=True)
    return made


def log_of(sim):
    return [(e["method"], e["path"], e["query"], e["status"]) for e in sim.control.requests()]


def pages(*numbers):
    """The list requests for server 101's snapshots, page by page."""
    return [("GET", "/api/v1/snapshots/", "server_id=101" + ("&page=%d" % n if n > 1 else ""), 200) for n in numbers]


def results_by_host(process):
    """Each host's ``result`` as ``debug: var=result`` printed it."""
    found = {}
    for match in re.finditer(r"^ok: \[([^\]]+)\] => ", process.stdout, re.M):
        printed = json.JSONDecoder().raw_decode(process.stdout[match.end():])[0]
        if "result" in printed:
            found[match.group(1)] = printed["result"]
    return found


def warnings_of(result):
    return [w if isinstance(w, str) else w.get("event", {}).get("msg", "") for w in result.get("warnings", [])]


# ---------------------------------------------------------------- replicas

def test_five_snapshots_one_task_each_under_replicas(sim, playbook):
    sim.control.configure(order="replicas", page_size=2)
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: Five snapshots of one server, one task each, pages of 2 from replicas in turn
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: "s{{ item }}"
          loop: [1, 2, 3, 4, 5]
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    results = task_result(process)["results"]
    assert [(r["changed"], r["snapshot"]["id"], r["snapshot"]["status"]) for r in results] == [
        (True, FIRST_ID + n, "completed") for n in range(5)]
    post = ("POST", "/api/v1/snapshots/", "", 201)
    # Each task: look for its name, create, look for a racing twin. Lists of
    # 3 to 5 take 2 or 3 pages; the first pass takes page 1 from one replica
    # and page 2 from the other, and tears. The second pass reads page 1
    # twice in a row, from each replica once, and the view is whole.
    torn_two_pages = pages(1, 2, 1, 1)
    assert log_of(sim) == (
        pages(1) + [post] + pages(1)                          # 0 objects, then 1: one page
        + pages(1) + [post] + pages(1)                        # 1, then 2: one page
        + pages(1) + [post] + torn_two_pages                  # 2, then 3
        + torn_two_pages + [post] + torn_two_pages            # 3, then 4
        + torn_two_pages + [post] + pages(1, 2, 3, 1))        # 4, then 5: the second pass's first page completes it
    assert sorted(s["name"] for s in sim.server.state.list_snapshots(101)) == ["s1", "s2", "s3", "s4", "s5"]


def test_a_fleet_of_twenty_under_replicas(sim, playbook):
    fleet = list(range(201, 221))
    for server_id in fleet:
        sim.control.add_server(server_id)
    sim.control.configure(order="replicas", page_size=10)
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: One snapshot per server of twenty, the account listed in pages of 10 from replicas in turn
          vpsorg.cloud.vpsorg_snapshot:
            server_ids: %s
            name: before-maintenance
          register: result
    """ % fleet)
    assert process.returncode == 0, process.stdout[-3000:]
    results = task_result(process)["results"]
    # The creates run side by side, so the ids follow their arrival, not the order of the servers.
    assert [(r["server_id"], r["changed"], r["snapshot"]["server"]["id"]) for r in results] == [
        (server_id, True, server_id) for server_id in fleet]
    assert sorted(r["snapshot"]["id"] for r in results) == [FIRST_ID + n for n in range(len(fleet))]
    # The empty account is one page; the 20 new snapshots are two: page 1
    # from one replica and page 2 from the other repeat 10 of them, and page
    # 1 read again from the other replica gives the missing 10.
    assert log_of(sim) == ([("GET", "/api/v1/snapshots/", "", 200)] + [("POST", "/api/v1/snapshots/", "", 201)] * 20
                           + [("GET", "/api/v1/snapshots/", "", 200), ("GET", "/api/v1/snapshots/", "page=2", 200)]
                           + [("GET", "/api/v1/snapshots/", "", 200)] * 2)
    sim.control.clear_requests()
    again = run_tasks(playbook, sim, """
        - name: The same fleet task again
          vpsorg.cloud.vpsorg_snapshot:
            server_ids: %s
            name: before-maintenance
          register: result
    """ % fleet)
    assert again.returncode == 0 and not task_result(again)["changed"]
    # The first page tells the account's size (two pages, fewer than twenty servers), then the account is read.
    assert [e["method"] for e in sim.control.requests()] == ["GET"] * 5


def test_info_and_rotation_under_replicas(sim, playbook):
    old = made_snapshots(sim, ["pre-1", "pre-2", "pre-3", "other"])
    sim.control.configure(order="replicas", page_size=2)
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: A fourth pre- snapshot, keeping three
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: pre-4
            rotate: {prefix: pre-, keep: 3}
          register: rotated
        - name: List them all
          vpsorg.cloud.vpsorg_snapshot_info:
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    assert [e["path"] for e in requests_of(sim, "DELETE")] == [snapshot_path(old[0])]
    assert [s["name"] for s in task_result(process)["snapshots"]] == ["pre-4", "other", "pre-3", "pre-2"]


# ---------------------------------------------------------------- a delete whose answer was lost

@pytest.mark.parametrize("fault", ["commit_fail", "commit_drop"])
def test_a_delete_by_name_carried_out_behind_a_lost_answer_is_this_tasks(sim, playbook, fault):
    target = made_snapshots(sim, ["going"])[0]
    sim.control.clear_requests()
    sim.control.fault(fault, count=1, methods=["DELETE"])
    process = run_tasks(playbook, sim, """
        - name: Delete a snapshot by name; the API deletes it but its answer is lost
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: going
            state: absent
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert result["changed"] and result["snapshot"]["id"] == target
    assert [(d["id"], "answer to the DELETE was lost" in d["note"]) for d in result["deleted_snapshots"]] == [
        (target, True)]
    assert any("answer to the DELETE was lost" in w for w in warnings_of(result))
    deletes = requests_of(sim, "DELETE")
    assert [(e["path"], e["carried_out"]) for e in deletes] == [
        (snapshot_path(target), True), (snapshot_path(target), False)]
    assert deletes[1]["status"] == 404


def test_a_delete_by_id_carried_out_behind_a_500_is_this_tasks(sim, playbook):
    target = made_snapshots(sim, ["going"])[0]
    sim.control.clear_requests()
    sim.control.fault("commit_fail", count=1, methods=["DELETE"])
    process = run_tasks(playbook, sim, """
        - name: Delete a snapshot by id; the API deletes it and answers HTTP 500
          vpsorg.cloud.vpsorg_snapshot:
            snapshot_id: %d
            state: absent
          register: result
    """ % target)
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert result["changed"] and [d["id"] for d in result["deleted_snapshots"]] == [target]
    assert [(e["method"], e["status"]) for e in sim.control.requests()] == [("DELETE", 500), ("DELETE", 404)]


def test_rotation_and_prune_count_deletes_whose_answer_was_lost(sim, playbook):
    old = made_snapshots(sim, ["pre-1", "pre-2", "pre-3"])
    sim.control.clear_requests()
    # Rotation's DELETE of pre-1 is carried out and answered 500; the prune's of pre-2 is carried out, unanswered.
    sim.control.fault("commit_fail", count=1, methods=["DELETE"], path="/snapshots/%d/" % old[0])
    sim.control.fault("commit_drop", count=1, methods=["DELETE"], path="/snapshots/%d/" % old[1])
    process = run_tasks(playbook, sim, """
        - name: A fourth pre- snapshot, keeping three
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: pre-4
            rotate: {prefix: pre-, keep: 3}
          register: rotated
        - name: Prune to two, without creating
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            state: absent
            rotate: {prefix: pre-, keep: 2}
          register: result
        - name: Show the rotation's result
          ansible.builtin.debug:
            var: rotated
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    rotated, pruned = task_result(process, "rotated"), task_result(process)
    assert rotated["changed"] and [d["id"] for d in rotated["deleted_snapshots"]] == [old[0]]
    assert pruned["changed"] and [d["id"] for d in pruned["deleted_snapshots"]] == [old[1]]
    assert all("answer to the DELETE was lost" in d["note"] for d in rotated["deleted_snapshots"] + pruned["deleted_snapshots"])
    carried_out = [e["path"] for e in requests_of(sim, "DELETE") if e["carried_out"]]
    assert carried_out == [snapshot_path(old[0]), snapshot_path(old[1])]
    assert sorted(s["name"] for s in sim.server.state.list_snapshots(101)) == ["pre-3", "pre-4"]


# ---------------------------------------------------------------- a race that loses one answer

RACERS = ("racer-1", "racer-2", "racer-3")


def race(sim, playbook, tmp_path, name="shared"):
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[racers]\n" + "".join("%s ansible_connection=local\n" % host for host in RACERS))
    return run_tasks(playbook, sim, """
        - name: Every host creates the same snapshot
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: %s
          register: result
    """ % name, inventory=str(inventory), hosts="racers", args=("--forks", "3"))


@pytest.mark.parametrize("fault,lost", [("commit_fail", 2), ("commit_drop", 2), ("commit_fail", 1), ("commit_drop", 3)])
def test_three_tasks_racing_for_one_name_with_a_lost_answer_keep_one_object(sim, playbook, tmp_path, fault, lost):
    # The three POSTs are all inside the API before any is served, then served
    # in the order they came: ids 801, 802 and 803. The answer of the
    # ``lost``-th is lost though the API made its snapshot.
    sim.control.fault("barrier", count=3, methods=["POST"], path="/snapshots/")
    sim.control.fault(fault, count=1, skip=lost - 1, path="/snapshots/")
    process = race(sim, playbook, tmp_path)
    assert process.returncode == 0, process.stdout[-3000:]
    posts = requests_of(sim, "POST")
    assert [(e["carried_out"], e["fault"]) for e in posts] == [
        (True, fault if n == lost else "barrier") for n in (1, 2, 3)]
    made = [FIRST_ID, FIRST_ID + 1, FIRST_ID + 2]
    # The oldest survives, alone; every task reports it.
    assert [s["id"] for s in sim.server.state.list_snapshots(101)] == [made[0]]
    results = results_by_host(process)
    assert sorted(results) == list(RACERS)
    assert [r["snapshot"]["id"] for r in results.values()] == [made[0]] * 3
    # Each newer snapshot was deleted exactly once by someone; a second try found it gone.
    deleted = [e["path"] for e in requests_of(sim, "DELETE") if e["carried_out"]]
    assert sorted(deleted) == [snapshot_path(made[1]), snapshot_path(made[2])]
    assert all(e["status"] in (204, 404) for e in requests_of(sim, "DELETE"))
    # Only the tasks that may have made the survivor report a change: the one
    # answered with its id, or the one whose answer was lost when it could
    # not tell which of the snapshots was its own.
    changed = sorted(host for host, r in results.items() if r["changed"])
    losers = [host for host, r in results.items() if not r["changed"]]
    assert 1 <= len(changed) <= 2 and len(losers) == 3 - len(changed)
    for host in losers:
        assert any("at the same time" in w for w in warnings_of(results[host])), results[host]
    sim.control.clear_requests()
    rerun = race(sim, playbook, tmp_path)
    assert rerun.returncode == 0 and "changed=0" in rerun.stdout
    assert [e["method"] for e in sim.control.requests()] == ["GET"] * 3


# ---------------------------------------------------------------- check mode reads the server

@pytest.mark.parametrize("module,key", [("vpsorg_snapshot", "name: never"), ("vpsorg_backup", "description: never")])
def test_check_mode_on_a_server_that_does_not_exist_fails_as_the_run_would(sim, playbook, module, key):
    process = run_tasks(playbook, sim, """
        - name: A dry run on server 999
          vpsorg.cloud.%s:
            server_id: 999
            %s
          register: result
          ignore_errors: true
    """ % (module, key), args=("--check",))
    result = task_result(process)
    assert result["failed"] and not result["changed"]
    assert "Server 999 does not exist" in result["msg"] and "Nothing would be created" in result["msg"]
    plural = "snapshots" if module == "vpsorg_snapshot" else "backups"
    assert log_of(sim) == [("GET", "/api/v1/%s/" % plural, "server_id=999", 200),
                           ("GET", "/api/v1/servers/999/", "", 404)]


def test_check_mode_on_a_server_with_objects_needs_no_extra_read(sim, playbook):
    made_snapshots(sim, ["there"])
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: A dry run on server 101, which the listing shows
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: new
          register: result
    """, args=("--check",))
    assert process.returncode == 0 and task_result(process)["changed"]
    assert log_of(sim) == pages(1)


# ---------------------------------------------------------------- messages that name what to change

def test_a_create_on_a_missing_server_names_it(sim, playbook):
    process = run_tasks(playbook, sim, """
        - name: Snapshot server 999
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 999
            name: nowhere
          register: result
          ignore_errors: true
    """)
    result = task_result(process)
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith("Server 999 does not exist, or this API token cannot see it")
    assert "Server not found" in result["msg"] and "Nothing was created" in result["msg"]


def test_nothing_listening_names_host_port_and_cause(sim, playbook):
    import socket
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    process = run_tasks(playbook, sim, """
        - name: An API URL where nothing listens
          vpsorg.cloud.vpsorg_snapshot_info:
            api_url: http://127.0.0.1:%d/api/v1
            api_retries: 0
          register: result
          ignore_errors: true
    """ % port)
    result = task_result(process)
    assert result["failed"] and "127.0.0.1:%d" % port in result["msg"]
    assert "connection was refused" in result["msg"] and "api_url" in result["msg"]


def test_a_wrong_api_path_says_so_instead_of_blaming_the_server(sim, playbook):
    wrong = sim.api_url.replace("/api/v1", "/api/v2")
    process = run_tasks(playbook, sim, """
        - name: Restore with an API URL whose path is wrong
          vpsorg.cloud.vpsorg_restore:
            api_url: %s
            server_id: 101
            snapshot_id: 801
          register: result
          ignore_errors: true
        - name: Delete by id with the same URL
          vpsorg.cloud.vpsorg_snapshot:
            api_url: %s
            snapshot_id: 801
            state: absent
          register: deleted
          ignore_errors: true
        - name: Show the delete
          ansible.builtin.debug:
            var: deleted
    """ % (wrong, wrong))
    for result in (task_result(process), task_result(process, "deleted")):
        assert result["failed"] and not result["changed"], result
        assert "does not exist, or this API token" not in result["msg"]
        assert wrong in result["msg"] and "Check api_url" in result["msg"] and "/api/v1" in result["msg"]
        assert result["api_error"]["reason"] == "wrong_url"


# ---------------------------------------------------------------- input refused before any request

@pytest.mark.parametrize("options,message", [
    ("server_id: true\n            name: x", "server_id must be a positive id (1 or more), got the boolean True"),
    ("server_ids: [101, true]\n            name: x", "server_ids must hold server ids (integers of 1 or more), got the boolean True"),
    ("snapshot_id: true\n            state: absent", "snapshot_id must be a positive id (1 or more), got the boolean True"),
])
def test_a_boolean_is_not_an_id(sim, playbook, options, message):
    process = run_tasks(playbook, sim, """
        - name: A boolean where an id belongs
          vpsorg.cloud.vpsorg_snapshot:
            %s
          register: result
          ignore_errors: true
    """ % options)
    result = task_result(process)
    assert result["failed"] and message in result["msg"], result
    assert sim.control.requests() == []


def test_reuse_within_with_state_absent_is_refused(sim, playbook):
    process = run_tasks(playbook, sim, """
        - name: Prune with reuse_within, which only a create can use
          vpsorg.cloud.vpsorg_backup:
            server_id: 101
            state: absent
            rotate: {prefix: daily-, keep: 2}
            reuse_within: 1d
          register: result
          ignore_errors: true
    """)
    result = task_result(process)
    assert result["failed"] and "reuse_within only applies to state=present" in result["msg"]
    assert sim.control.requests() == []
