"""Holds (operations kept in progress until a test releases them) and list orders that move."""

import concurrent.futures
import time

import requests


def status_of(api, kind, object_id):
    listing = api("GET", "/%ss/" % kind).json()["results"]
    return next(o["status"] for o in listing if o["id"] == object_id)


def test_a_held_creation_stays_in_progress_until_released(vpsorg_sim, api):
    vpsorg_sim.control.configure(durations={"snapshot": 0})
    vpsorg_sim.control.hold("snapshot", 101)
    held = api("POST", "/snapshots/", json={"server_id": 101, "name": "held"}).json()
    free = api("POST", "/snapshots/", json={"server_id": 102, "name": "free"}).json()
    vpsorg_sim.server.state.advance()
    assert status_of(api, "snapshot", held["id"]) == "in_progress"
    assert status_of(api, "snapshot", free["id"]) == "completed"
    vpsorg_sim.control.release("snapshot", 101)
    assert status_of(api, "snapshot", held["id"]) == "completed"


def test_release_with_finish_ends_a_long_operation_now(vpsorg_sim, api):
    snapshot = api("POST", "/snapshots/", json={"server_id": 101, "name": "good"}).json()
    vpsorg_sim.control.release(finish=True)
    vpsorg_sim.control.configure(durations={"restore": 3600})
    vpsorg_sim.control.hold("restore")
    assert api("POST", "/snapshots/%d/restore/" % snapshot["id"]).status_code == 200
    vpsorg_sim.control.release("restore", finish=True)
    assert api("GET", "/servers/101/").json()["status"] == "running"


def test_a_hold_survives_until_reset(vpsorg_sim, api):
    vpsorg_sim.control.configure(durations={"backup": 0})
    vpsorg_sim.control.hold("backup")
    backup = api("POST", "/backups/", json={"server_id": 101}).json()
    assert status_of(api, "backup", backup["id"]) == "in_progress"
    vpsorg_sim.control.reset()
    assert status_of(api, "backup", backup["id"]) == "completed"


def test_unknown_hold_kind_and_order_are_refused(vpsorg_sim):
    base = vpsorg_sim.control.base + "/_sim"
    assert requests.post(base + "/holds", json={"kind": "volume"}, timeout=5).status_code == 400
    assert requests.patch(base + "/config", json={"order": "random"}, timeout=5).status_code == 400


def read_pages(api):
    """One page-by-page read, as a naive client does it."""
    ids, url = [], api.base + "/snapshots/"
    while url:
        page = requests.get(url, headers=api.headers, timeout=5).json()
        ids += [s["id"] for s in page["results"]]
        url = page["next"]
    return ids


def test_updated_order_moves_a_row_when_its_status_changes(vpsorg_sim, api):
    vpsorg_sim.control.configure(order="updated", page_size=2, durations={"snapshot": 0})
    vpsorg_sim.control.hold("snapshot", 101)
    vpsorg_sim.control.hold("snapshot", 102)
    ids = [api("POST", "/snapshots/", json={"server_id": server, "name": "u%d" % i}).json()["id"]
           for i, server in enumerate((102, 101, 101, 101))]
    first_page = requests.get(api.base + "/snapshots/", headers=api.headers, timeout=5).json()
    assert [s["id"] for s in first_page["results"]] == ids[:2]
    # The first row completes between two page requests and moves to the end:
    # the second page repeats it and the third row is never seen.
    vpsorg_sim.control.release("snapshot", 102)
    second_page = requests.get(first_page["next"], headers=api.headers, timeout=5).json()
    assert [s["id"] for s in second_page["results"]] == [ids[3], ids[0]]
    assert second_page["count"] == 4


def test_reshuffle_changes_the_order_between_requests(vpsorg_sim, api):
    vpsorg_sim.control.configure(order="reshuffle", page_size=2)
    for index in range(6):
        api("POST", "/snapshots/", json={"server_id": 101 + index % 2, "name": "r%d" % index})
    reads = [read_pages(api) for _read in range(20)]
    assert len(set(tuple(r) for r in reads)) > 1
    # Some page-by-page read saw an id twice (and so missed another).
    assert any(len(set(r)) < len(r) for r in reads)


def page_ids(api, url):
    page = requests.get(url, headers=api.headers, timeout=5).json()
    return [s["id"] for s in page["results"]], page["next"]


def test_replicas_alternate_two_orders_on_every_list_request(vpsorg_sim, api):
    vpsorg_sim.control.configure(order="replicas", page_size=2)
    ids = [api("POST", "/snapshots/", json={"server_id": 101, "name": "r%d" % i}).json()["id"] for i in range(3)]
    # Page 1 from the replica ordered by id, page 2 from the one ordered by id descending: ids[2] is never read.
    first, following = page_ids(api, api.base + "/snapshots/")
    second, _end = page_ids(api, following)
    assert (first, second) == ([ids[0], ids[1]], [ids[0]])
    # Every read in that rhythm misses the same object.
    assert [read_pages(api) for _read in range(3)] == [[ids[0], ids[1], ids[0]]] * 3
    # One request more shifts the rhythm: page 1 from the other replica.
    assert api("GET", "/backups/").status_code == 200
    assert read_pages(api) == [ids[2], ids[1], ids[2]]


def test_replicas_serve_a_filtered_list_in_turn_too(vpsorg_sim, api):
    vpsorg_sim.control.configure(order="replicas")
    ids = [api("POST", "/backups/", json={"server_id": 101, "description": "b%d" % i}).json()["id"] for i in range(3)]
    orders = [[b["id"] for b in api("GET", "/backups/", params={"server_id": 101}).json()["results"]] for _n in range(3)]
    assert orders == [ids, ids[::-1], ids]


def test_concurrent_same_name_creates_both_succeed(vpsorg_sim, api):
    """The API does not enforce unique names: two racing creates make two objects."""
    vpsorg_sim.control.fault("slow", count=2, delay=0.5, methods=["POST"], path="/snapshots/")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _index: api("POST", "/snapshots/", json={"server_id": 101, "name": "race"}), range(2)))
    assert [a.status_code for a in answers] == [201, 201]
    assert len([s for s in api("GET", "/snapshots/").json()["results"] if s["name"] == "race"]) == 2


def test_a_barrier_lets_racing_requests_in_together(vpsorg_sim, api):
    vpsorg_sim.control.fault("barrier", count=2, methods=["POST"], path="/snapshots/")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(api, "POST", "/snapshots/", json={"server_id": 101, "name": "a"})
        # The first POST is held inside the API until the second arrives.
        assert not first.done() or first.result().status_code == 201
        second = pool.submit(api, "POST", "/snapshots/", json={"server_id": 101, "name": "b"})
        assert [first.result().status_code, second.result().status_code] == [201, 201]
    assert api("POST", "/snapshots/", json={"server_id": 101, "name": "c"}).status_code == 201


def test_a_barrier_serves_its_party_in_the_order_it_arrived_and_may_lose_an_answer(vpsorg_sim, api):
    vpsorg_sim.control.fault("barrier", count=3, methods=["POST"], path="/snapshots/")
    # The second POST to arrive is carried out, but its answer is an HTTP 500.
    vpsorg_sim.control.fault("commit_fail", count=1, skip=1, path="/snapshots/")
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = []
        for index in range(3):
            answers.append(pool.submit(api, "POST", "/snapshots/", json={"server_id": 101, "name": "same"}))
            # The next one is sent once this one is inside the API, so the order of arrival is known.
            wait_until(lambda: vpsorg_sim.server.faults.rules()[0]["count"] == 2 - index)
        statuses = [a.result().status_code for a in answers]
    assert statuses == [201, 500, 201]
    assert answers[0].result().json()["id"] == 801 and answers[2].result().json()["id"] == 803
    # All three were carried out, in the order they arrived.
    assert sorted(s["id"] for s in api("GET", "/snapshots/").json()["results"]) == [801, 802, 803]
    log = vpsorg_sim.control.requests(method="POST")
    assert [(e["status"], e["fault"], e["carried_out"]) for e in log] == [
        (201, "barrier", True), (500, "commit_fail", True), (201, "barrier", True)]


def wait_until(condition, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError("the simulator never reached the expected state")


def test_skip_aims_a_fault_at_a_later_request(vpsorg_sim, api):
    vpsorg_sim.control.fault("500", count=1, skip=2, methods=["GET"])
    assert [api("GET", "/snapshots/").status_code for _request in range(4)] == [200, 200, 500, 200]


def test_backdate_sets_an_age_or_a_future_time(vpsorg_sim, api):
    made = api("POST", "/snapshots/", json={"server_id": 101, "name": "old"}).json()
    vpsorg_sim.control.backdate("snapshot", made["id"], 3 * 86400)
    listed = api("GET", "/snapshots/").json()["results"][0]["created_at"]
    assert listed < made["created_at"]
    vpsorg_sim.control.backdate("snapshot", made["id"], -3600)
    assert api("GET", "/snapshots/").json()["results"][0]["created_at"] > made["created_at"]
    missing = requests.patch(vpsorg_sim.control.base + "/_sim/backups/999", json={"age_seconds": 1}, timeout=5)
    assert missing.status_code == 404


def test_time_scale_shortens_operations(vpsorg_sim, api):
    vpsorg_sim.control.configure(durations={"snapshot": 600}, time_scale=1e9)
    made = api("POST", "/snapshots/", json={"server_id": 101, "name": "ten-minutes"}).json()
    assert status_of(api, "snapshot", made["id"]) == "completed"
    bad = requests.patch(vpsorg_sim.control.base + "/_sim/config", json={"time_scale": 0}, timeout=5)
    assert bad.status_code == 400
