"""The modules against an API that behaves as the contract allows: lists that move, any fault, races.

Each test runs real ansible-playbook tasks against the simulator and asserts,
from the simulator's request log, exactly what was sent.
"""

import concurrent.futures
import time

import pytest
import requests

from playbook_tasks import requests_of, run_tasks, task_result

FAST = {"snapshot": 0, "backup": 0, "restore": 0}


def make_snapshots(sim, names, server_id=101):
    """Completed snapshots made straight in the simulator (not under test), oldest first."""
    made = []
    for offset, name in enumerate(names):
        with sim.server.state.lock:
            view = sim.server.state.create_snapshot(server_id, name)
            record = sim.server.state.snapshots[view["id"]]
            # Distinct, increasing creation times, older than anything the test makes.
            record["created_at"] -= 3600 - offset * 60
        made.append(view["id"])
    sim.control.release(finish=True)
    return made


@pytest.fixture
def sim(vpsorg_sim):
    vpsorg_sim.control.configure(durations=FAST)
    return vpsorg_sim


# ---------------------------------------------------------------- shifting lists

def test_rotation_on_a_reshuffled_paged_list_deletes_exactly_the_oldest(sim, playbook):
    old = make_snapshots(sim, ["pre-1", "pre-2", "pre-3", "other"])
    sim.control.configure(order="reshuffle", page_size=2)
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: Take a fourth pre- snapshot, keeping three
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: pre-4
            rotate: {prefix: pre-, keep: 3}
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    deletes = [e["path"] for e in requests_of(sim, "DELETE")]
    assert deletes == ["/api/v1/snapshots/%d/" % old[0]]
    assert [s["name"] for s in result["deleted_snapshots"]] == ["pre-1"]
    assert len(requests_of(sim, "POST")) == 1
    names = sorted(s["name"] for s in sim.server.state.list_snapshots(101))
    assert names == ["other", "pre-2", "pre-3", "pre-4"]


def test_a_moving_list_neither_duplicates_a_create_nor_loses_a_wait(sim, playbook):
    make_snapshots(sim, ["a", "b", "c"])
    sim.control.configure(order="reshuffle", page_size=1)
    process = run_tasks(playbook, sim, """
        - name: Create, then run the same task again three times
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: keyed
          loop: [1, 2, 3, 4]
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    changed = [r["changed"] for r in task_result(process)["results"]]
    assert changed == [True, False, False, False]
    assert len(requests_of(sim, "POST")) == 1
    assert [s["name"] for s in sim.server.state.list_snapshots(101)].count("keyed") == 1


def test_restore_by_id_finds_its_snapshot_on_a_moving_list(sim, playbook):
    ids = make_snapshots(sim, ["s1", "s2", "s3", "s4", "s5"])
    sim.control.configure(order="reshuffle", page_size=2)
    process = run_tasks(playbook, sim, """
        - name: Restore from the third snapshot
          vpsorg.cloud.vpsorg_restore:
            server_id: 101
            snapshot_id: %d
          register: result
    """ % ids[2])
    assert process.returncode == 0, process.stdout[-3000:]
    assert task_result(process)["source"]["id"] == ids[2]
    assert [e["path"] for e in requests_of(sim, "POST")] == ["/api/v1/snapshots/%d/restore/" % ids[2]]


# ---------------------------------------------------------------- transient errors

def test_a_500_on_a_get_is_retried(sim, playbook):
    sim.control.fault("500", count=2, methods=["GET"])
    process = run_tasks(playbook, sim, """
        - name: List snapshots through two HTTP 500s
          vpsorg.cloud.vpsorg_snapshot_info:
            server_id: 101
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    assert [e["status"] for e in requests_of(sim, "GET")] == [500, 500, 200]


def in_background(function):
    """Run ``function`` in a thread; returns a callable that joins it and gives its result."""
    pool = concurrent.futures.ThreadPoolExecutor(1)
    future = pool.submit(function)
    pool.shutdown(wait=False)
    return lambda: future.result(timeout=600)


def wait_for_log(sim, condition):
    """Poll the request log until ``condition(entries)`` holds (a state, not a duration, ends it)."""
    for _attempt in range(6000):
        if condition(sim.control.requests()):
            return
        time.sleep(0.1)
    raise AssertionError("the simulator never saw the expected requests")


def test_a_failed_poll_does_not_end_a_wait(sim, playbook):
    # GET 1 looks for the name, GET 2 looks again after the create; the next
    # two GETs are polls of the wait and fail, with no retries left to hide them.
    sim.control.hold("snapshot", 101)
    sim.control.fault("500", count=2, skip=2, methods=["GET"])
    finished = in_background(lambda: run_tasks(playbook, sim, """
        - name: Create and wait through failing polls
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: through-500s
            wait_timeout: 600
            api_retries: 0
          register: result
    """))
    wait_for_log(sim, lambda log: len([e for e in log if e["status"] == 500]) == 2)
    sim.control.release("snapshot", 101)
    process = finished()
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert result["snapshot"]["status"] == "completed" and result["changed"]
    gets = [e["status"] for e in requests_of(sim, "GET", "/api/v1/snapshots/")]
    assert gets[:4] == [200, 200, 500, 500] and set(gets[4:]) == {200}
    assert len(requests_of(sim, "POST")) == 1


# ---------------------------------------------------------------- restore in doubt

@pytest.mark.parametrize("fault", ["503", "commit_drop"])
def test_restore_survives_an_ambiguous_answer_to_its_post(sim, playbook, fault):
    snapshot_id = make_snapshots(sim, ["good"])[0]
    sim.control.configure(order="reshuffle", page_size=1)
    sim.control.hold("restore", 101)
    sim.control.fault(fault, count=1, methods=["POST"], path="/snapshots/%d/restore/" % snapshot_id)
    # The look at the server that follows the POST meets an HTTP 500 too.
    sim.control.fault("500", count=1, skip=1, methods=["GET"], path="/servers/101/")
    finished = in_background(lambda: run_tasks(playbook, sim, """
        - name: Restore through a fault on the POST and one on the server read
          vpsorg.cloud.vpsorg_restore:
            server_id: 101
            snapshot_id: %d
          register: result
    """ % snapshot_id))
    # Hold the restore until the module has looked at the server after its POST, then let it end.
    wait_for_log(sim, lambda log: [e["status"] for e in log if e["path"] == "/api/v1/servers/101/"][:3] == [200, 500, 200])
    sim.control.release("restore", 101)
    process = finished()
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert result["changed"] and result["restore_started"] and result["server"]["status"] == "running"
    posts = requests_of(sim, "POST")
    if fault == "503":
        # Refused before the API acted: the server was not restoring, so the restore was sent again.
        assert [p["status"] for p in posts] == [503, 200]
    else:
        # Carried out, answer lost: the server shows it restoring, so nothing is sent again.
        assert [p["status"] for p in posts] == [200] and posts[0]["dropped"]


def test_restore_is_not_sent_again_when_its_source_went_away(sim, playbook, api_session):
    snapshot_id = make_snapshots(sim, ["going"])[0]
    sim.control.fault("503", count=1, methods=["POST"], path="/snapshots/%d/restore/" % snapshot_id)
    # The look that follows the refused POST waits inside the API for this test's own request.
    sim.control.fault("barrier", count=2, skip=1, methods=["GET"], path="/servers/101/")
    finished = in_background(lambda: run_tasks(playbook, sim, """
        - name: Restore from a snapshot that is deleted meanwhile
          vpsorg.cloud.vpsorg_restore:
            server_id: 101
            snapshot_id: %d
          register: result
          ignore_errors: true
    """ % snapshot_id))
    wait_for_log(sim, lambda log: any(e["method"] == "POST" and e["status"] == 503 for e in log))
    sim.server.state.delete_snapshot(snapshot_id)
    assert api_session.get(sim.api_url + "/servers/101/", timeout=120).status_code == 200
    result = task_result(finished())
    assert result["failed"] and not result["changed"]
    assert "does not exist" in result["msg"] and "Nothing was restored" in result["msg"]
    assert len(requests_of(sim, "POST")) == 1


@pytest.fixture
def api_session(sim):
    session = requests.Session()
    session.headers["Authorization"] = "Bearer %s" % sim.token
    return session


# ---------------------------------------------------------------- same-key race

def test_two_tasks_creating_the_same_name_at_once_end_with_one_snapshot(sim, playbook, tmp_path):
    # Both POSTs are inside the API before either is answered: the race is certain.
    sim.control.fault("barrier", count=2, methods=["POST"], path="/snapshots/")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[racers]\nracer-1 ansible_connection=local\nracer-2 ansible_connection=local\n")
    process = run_tasks(playbook, sim, """
        - name: Both hosts create the same snapshot
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: shared
          register: result
    """, inventory=str(inventory), hosts="racers", args=("--forks", "2"))
    assert process.returncode == 0, process.stdout[-3000:]
    posts = requests_of(sim, "POST")
    deletes = requests_of(sim, "DELETE")
    survivors = [s for s in sim.server.state.list_snapshots(101) if s["name"] == "shared"]
    assert len(posts) == 2 and len(deletes) == 1 and len(survivors) == 1
    # The oldest (lowest id) won; the newer one was deleted by the task that made it.
    assert deletes[0]["path"] != "/api/v1/snapshots/%d/" % survivors[0]["id"]
    sim.control.clear_requests()
    rerun = run_tasks(playbook, sim, """
        - name: Run it again
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: shared
          register: result
    """, inventory=str(inventory), hosts="racers")
    assert rerun.returncode == 0 and "changed=0" in rerun.stdout
    assert [e["method"] for e in sim.control.requests()] == ["GET", "GET"]


# ---------------------------------------------------------------- rotation safety

def test_rotation_with_room_deletes_only_after_the_new_one_completed(sim, playbook):
    old = make_snapshots(sim, ["nightly-1", "nightly-2"])
    sim.control.hold("snapshot", 101)
    first = run_tasks(playbook, sim, """
        - name: Start a third nightly snapshot, keeping two, without waiting
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: nightly-3
            wait: false
            rotate: {prefix: nightly-, keep: 2}
          register: result
    """)
    assert first.returncode == 0, first.stdout[-3000:]
    result = task_result(first)
    assert result["changed"] and result["deleted_snapshots"] == [] and not result["deleted_before_create"]
    assert requests_of(sim, "DELETE") == []
    assert "rotation deleted nothing yet" in first.stdout
    sim.control.release("snapshot", 101)
    sim.control.clear_requests()
    second = run_tasks(playbook, sim, """
        - name: The same task once the snapshot is completed
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: nightly-3
            rotate: {prefix: nightly-, keep: 2}
          register: result
    """)
    assert second.returncode == 0, second.stdout[-3000:]
    assert [e["path"] for e in requests_of(sim, "DELETE")] == ["/api/v1/snapshots/%d/" % old[0]]
    assert task_result(second)["changed"]


def test_rotation_at_the_limit_deletes_first_and_says_so(sim, playbook):
    old = make_snapshots(sim, ["weekly-1", "weekly-2", "weekly-3", "x", "y"])
    process = run_tasks(playbook, sim, """
        - name: A fourth weekly snapshot on a full server, keeping two
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: weekly-4
            rotate: {prefix: weekly-, keep: 2}
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert result["deleted_before_create"]
    assert [s["name"] for s in result["deleted_snapshots"]] == ["weekly-1", "weekly-2"]
    mutations = [(e["method"], e["path"]) for e in sim.control.requests() if e["method"] != "GET"]
    assert mutations == [("DELETE", "/api/v1/snapshots/%d/" % old[0]), ("POST", "/api/v1/snapshots/"),
                         ("DELETE", "/api/v1/snapshots/%d/" % old[1])]


# ---------------------------------------------------------------- input checked first

@pytest.mark.parametrize("options,message", [
    ("name: x\n            wait_timeout: 0", "wait_timeout must be at least 1"),
    ("name: x\n            wait_timeout: -5", "wait_timeout must be at least 1"),
    ("name: x\n            wait: false\n            wait_timeout: -5", "must not be negative"),
    ("name: x\n            server_id: 0", "server_id must be a positive id"),
    ("snapshot_id: -3\n            state: absent", "snapshot_id must be a positive id"),
])
def test_bad_input_sends_nothing(sim, playbook, options, message):
    process = run_tasks(playbook, sim, """
        - name: A task with a bad option
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            %s
          register: result
          ignore_errors: true
    """ % options)
    result = task_result(process)
    assert result["failed"] and message in result["msg"], result
    assert sim.control.requests() == []


def test_a_create_the_api_refuses_is_not_a_change(sim, playbook):
    process = run_tasks(playbook, sim, """
        - name: Snapshot a server that does not exist
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 999
            name: nowhere
          register: result
          ignore_errors: true
    """)
    result = task_result(process)
    assert result["failed"] and not result["changed"]
    assert [e["status"] for e in requests_of(sim, "POST")] == [404]
