"""The API client against the simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils.client import (
    Gate,
    ALREADY_GONE,
    DELETED,
    DELETED_ANSWER_LOST,
    Deadline,
    InvalidRequestError,
    NoAnswerError,
    RetryPolicy,
    TornListError,
    UnreadableAnswerError,
    VpsorgApiError,
    VpsorgClient,
    WaitGoneError,
    WaitTimeoutError,
    WrongUrlError,
)


def client_for(sim, retries=3, max_delay=5, **kwargs):
    return VpsorgClient(sim.api_url, sim.token, retry_policy=RetryPolicy(retries, max_delay, base_delay=0.05), **kwargs)


def test_429_with_retry_after_waits_then_succeeds(vpsorg_sim):
    vpsorg_sim.control.fault("429", count=1, retry_after=2)
    client = client_for(vpsorg_sim)
    started = time.monotonic()
    assert client.get("/servers/101/")["name"] == "web-01"
    waited = time.monotonic() - started
    assert 1.9 <= waited < 3.5
    assert [e["status"] for e in vpsorg_sim.control.requests()] == [429, 200]


def test_retry_after_is_capped_by_max_delay(vpsorg_sim):
    vpsorg_sim.control.fault("429", count=1, retry_after=60)
    started = time.monotonic()
    client_for(vpsorg_sim, max_delay=1).get("/snapshots/")
    assert time.monotonic() - started < 3


def test_a_429_on_post_is_sent_again(vpsorg_sim):
    vpsorg_sim.control.fault("429", count=2, retry_after=0)
    created = client_for(vpsorg_sim).post("/snapshots/", {"server_id": 101, "name": "after-429"})
    assert created["name"] == "after-429"
    assert [e["status"] for e in vpsorg_sim.control.requests(method="POST")] == [429, 429, 201]


def test_retries_give_up_after_api_retries_naming_the_status(vpsorg_sim):
    vpsorg_sim.control.fault("503", rate=1.0)
    client = client_for(vpsorg_sim, retries=2)
    with pytest.raises(VpsorgApiError) as caught:
        client.get("/snapshots/")
    assert caught.value.status == 503
    assert "HTTP 503" in str(caught.value) and "gave up after 2 retries" in str(caught.value)
    assert len(vpsorg_sim.control.requests()) == 3


def test_429s_have_a_budget_of_their_own_twice_as_large(vpsorg_sim):
    vpsorg_sim.control.fault("429", count=4, retry_after=0)
    vpsorg_sim.control.fault("503", count=2)
    client = client_for(vpsorg_sim, retries=2)
    assert client.get("/servers/101/")["id"] == 101
    vpsorg_sim.control.fault("429", count=5, retry_after=0)
    with pytest.raises(VpsorgApiError) as caught:
        client.get("/servers/101/")
    assert caught.value.status == 429 and "gave up after 4 retries" in caught.value.message
    assert [e["status"] for e in vpsorg_sim.control.requests()] == [429] * 4 + [503] * 2 + [200] + [429] * 5


def test_dropped_connections_on_get_are_retried(vpsorg_sim):
    vpsorg_sim.control.fault("drop", count=2)
    client = client_for(vpsorg_sim)
    assert client.get("/servers/102/")["id"] == 102
    assert [e["dropped"] for e in vpsorg_sim.control.requests()] == [True, True, False]
    assert client.calls == 3


def test_pagination_across_three_or_more_pages(vpsorg_sim):
    vpsorg_sim.control.configure(page_size=2, order="shuffle")
    client = client_for(vpsorg_sim)
    for index in range(7):
        client.post("/backups/", {"server_id": 101, "description": "page-%d" % index})
    listed = client.list("/backups/", {"server_id": 101, "backup_type": None})
    assert sorted(b["description"] for b in listed) == ["page-%d" % i for i in range(7)]
    pages = vpsorg_sim.control.requests(method="GET", path="/api/v1/backups/")
    assert len(pages) == 4
    assert all("server_id=101" in p["query"] for p in pages)


def test_non_json_error_body(vpsorg_sim):
    vpsorg_sim.control.fault("garbage", count=1, status=500)
    with pytest.raises(VpsorgApiError) as caught:
        client_for(vpsorg_sim, retries=0).get("/snapshots/")
    assert caught.value.status == 500
    # The HTML page is flattened to its text, so the message stays one readable line.
    assert "<h1>500 Bad Gateway</h1><p>upstream error</p>" in caught.value.message
    assert caught.value.body is None


def test_field_errors_are_in_the_message(vpsorg_sim):
    with pytest.raises(VpsorgApiError) as caught:
        client_for(vpsorg_sim).post("/snapshots/", {"server_id": 101, "name": "bad name"})
    assert caught.value.status == 400 and not caught.value.maybe_committed
    assert "name: Only letters" in caught.value.message
    assert caught.value.method == "POST" and caught.value.path == "/api/v1/snapshots/"


def test_lost_post_answer_makes_no_duplicate_when_the_caller_reconciles(vpsorg_sim):
    vpsorg_sim.control.fault("commit_drop", count=1)
    client = client_for(vpsorg_sim)
    body = {"server_id": 101, "name": "exactly-once"}
    with pytest.raises(VpsorgApiError) as caught:
        client.post("/snapshots/", body)
    assert caught.value.maybe_committed and caught.value.reason == "connection"
    # The caller's reconciliation, as the resource engine does it: look before sending again.
    found = [s for s in client.list("/snapshots/", {"server_id": 101}) if s["name"] == body["name"]]
    if not found:
        client.post("/snapshots/", body)
    assert [s["name"] for s in client.list("/snapshots/")] == ["exactly-once"]
    assert len(vpsorg_sim.control.requests(method="POST")) == 1


def test_a_post_5xx_is_not_sent_again(vpsorg_sim):
    vpsorg_sim.control.fault("503", count=1, methods=["POST"])
    with pytest.raises(VpsorgApiError) as caught:
        client_for(vpsorg_sim).post("/snapshots/", {"server_id": 101, "name": "once"})
    assert caught.value.maybe_committed and caught.value.status == 503
    assert len(vpsorg_sim.control.requests(method="POST")) == 1


def test_wait_timeout_carries_the_last_object(vpsorg_sim):
    vpsorg_sim.control.configure(durations={"snapshot": 60})
    client = client_for(vpsorg_sim)
    created = client.post("/snapshots/", {"server_id": 101, "name": "slow"})

    def fetch():
        return [s for s in client.list("/snapshots/") if s["id"] == created["id"]][0]

    with pytest.raises(VpsorgApiError) as caught:
        client.wait_for(fetch, lambda s: s["status"] == "completed", Deadline(1.5), "snapshot %d" % created["id"])
    assert caught.value.reason == "wait_timeout"
    assert caught.value.last_object["id"] == created["id"]
    assert caught.value.last_object["status"] == "in_progress"
    assert "last status: in_progress" in caught.value.message


def test_wait_returns_when_done(vpsorg_sim):
    client = client_for(vpsorg_sim)
    created = client.post("/snapshots/", {"server_id": 101, "name": "quick"})
    done = client.wait_for(lambda: client.list("/snapshots/")[0], lambda s: s["status"] == "completed",
                           Deadline(10), "snapshot")
    assert done["id"] == created["id"] and done["status"] == "completed"


def test_token_is_in_no_exception_text(vpsorg_sim):
    secret = "s3cr3t-token-value"
    client = VpsorgClient(vpsorg_sim.api_url, secret, retry_policy=RetryPolicy(0, 1))
    with pytest.raises(VpsorgApiError) as caught:
        client.get("/snapshots/")
    assert caught.value.status == 401
    texts = [str(caught.value), repr(caught.value), repr(caught.value.to_dict()), repr(caught.value.body)]
    assert not any(secret in text for text in texts)


def test_plain_http_to_a_remote_host_is_refused_before_any_request(vpsorg_sim):
    with pytest.raises(VpsorgApiError) as caught:
        VpsorgClient("http://admin.vps.org/api/v1", "token")
    assert "https://" in caught.value.message and "token" not in caught.value.message.replace("API token", "")
    for url in ("http://127.0.0.1:1/api/v1", "http://localhost:1/api/v1", "http://[::1]:1/api/v1", "https://example.org/api"):
        VpsorgClient(url, "token")


# ------------------------------------------------------------ lists read through replicas


def made(vpsorg_sim, count, server_id=101):
    return [vpsorg_sim.server.state.create_snapshot(server_id, "r%d" % n)["id"] for n in range(count)]


def pages_requested(vpsorg_sim):
    return [e["query"] for e in vpsorg_sim.control.requests(method="GET")]


@pytest.mark.parametrize("count,pages", [
    # Page 1 from the replica ordered by id, page 2 from the other: torn. Page 1 twice: one of each, whole.
    (3, ["", "page=2", "", ""]),
    (4, ["", "page=2", "", ""]),
    # Three pages: the first pass misses one; page 1 from the other replica has it.
    (5, ["", "page=2", "page=3", ""]),
])
def test_a_list_read_through_alternating_replicas_is_whole(vpsorg_sim, count, pages):
    ids = made(vpsorg_sim, count)
    vpsorg_sim.control.configure(order="replicas", page_size=2)
    vpsorg_sim.control.clear_requests()
    listed = client_for(vpsorg_sim).list("/snapshots/")
    assert sorted(s["id"] for s in listed) == ids
    assert pages_requested(vpsorg_sim) == pages


def test_a_list_that_never_settles_says_what_was_seen(vpsorg_sim):
    made(vpsorg_sim, 3)
    vpsorg_sim.control.configure(order="replicas", page_size=2)
    with pytest.raises(VpsorgApiError) as caught:
        client_for(vpsorg_sim).list("/snapshots/", {"server_id": 101}, passes=1)
    assert caught.value.reason == "torn_list" and caught.value.transient
    assert caught.value.message == (
        "GET /api/v1/snapshots/ (server_id=101) kept changing while it was read: 1 passes (2 page requests, each page "
        "read up to 3 times in a row) never saw together the 3 objects it counts, at most 2 (counts seen: 3). Its "
        "order moved between page requests every time; run the task again.")


def test_a_list_in_a_stable_order_costs_one_pass(vpsorg_sim):
    ids = made(vpsorg_sim, 5)
    vpsorg_sim.control.configure(order="shuffle", page_size=2)
    vpsorg_sim.control.clear_requests()
    assert sorted(s["id"] for s in client_for(vpsorg_sim).list("/snapshots/")) == ids
    assert pages_requested(vpsorg_sim) == ["", "page=2", "page=3"]


# ------------------------------------------------------------ deletes whose answer is lost


def test_what_a_delete_came_to(vpsorg_sim):
    ids = made(vpsorg_sim, 4)
    client = client_for(vpsorg_sim)
    assert client.delete("/snapshots/%d/" % ids[0], missing_ok=True) == DELETED
    # Gone before this DELETE: someone else's.
    assert client.delete("/snapshots/%d/" % ids[0], missing_ok=True) == ALREADY_GONE
    # Carried out, then answered 500 or not at all: the retry finds it gone.
    vpsorg_sim.control.fault("commit_fail", count=1, methods=["DELETE"])
    assert client.delete("/snapshots/%d/" % ids[1], missing_ok=True) == DELETED_ANSWER_LOST
    vpsorg_sim.control.fault("commit_drop", count=1, methods=["DELETE"])
    assert client.delete("/snapshots/%d/" % ids[2], missing_ok=True) == DELETED_ANSWER_LOST
    # A 429 proves nothing was done: a 404 after it is not this request's.
    vpsorg_sim.server.state.delete_snapshot(ids[3])
    vpsorg_sim.control.fault("429", count=1, retry_after=0, methods=["DELETE"])
    assert client.delete("/snapshots/%d/" % ids[3], missing_ok=True) == ALREADY_GONE
    with pytest.raises(VpsorgApiError) as caught:
        client.delete("/snapshots/%d/" % ids[3])
    assert caught.value.missing and not caught.value.maybe_committed
    assert [e["status"] for e in vpsorg_sim.control.requests(method="DELETE")] == [
        204, 404, 500, 404, 204, 404, 429, 404, 404]


# ------------------------------------------------------------ messages a user can act on


def test_a_path_that_is_not_the_apis_blames_the_url_not_the_object(vpsorg_sim):
    wrong = vpsorg_sim.api_url.replace("/api/v1", "/api/v2")
    client = VpsorgClient(wrong, vpsorg_sim.token, retry_policy=RetryPolicy(0, 1))
    for call in (lambda: client.get("/servers/101/"), lambda: client.delete("/snapshots/801/", missing_ok=True),
                 lambda: client.list("/snapshots/")):
        with pytest.raises(VpsorgApiError) as caught:
            call()
        assert caught.value.reason == "wrong_url" and caught.value.status == 404 and not caught.value.missing
        assert wrong in caught.value.message and "Check api_url (now %s)" % wrong in caught.value.message
        assert "Not Found" in caught.value.message
    # The API's own 404 for an object that does not exist is not the URL's fault.
    with pytest.raises(VpsorgApiError) as caught:
        client_for(vpsorg_sim).get("/servers/999/")
    assert caught.value.missing and caught.value.reason == "http"


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("url,cause", [
    ("http://127.0.0.1:%(closed)d/api/v1", "the connection was refused: nothing listens there"),
    ("https://no-such-host.invalid/api/v1", "the host name does not resolve (DNS)"),
    ("https://127.0.0.1:%(sim)d/api/v1", "the TLS handshake failed"),
])
def test_no_answer_names_host_port_and_cause(vpsorg_sim, url, cause):
    url = url % {"closed": closed_port(), "sim": vpsorg_sim.server.port}
    client = VpsorgClient(url, "token", retry_policy=RetryPolicy(0, 1))
    with pytest.raises(VpsorgApiError) as caught:
        client.get("/snapshots/")
    host = urlsplit(url).netloc if urlsplit(url).port else urlsplit(url).hostname + ":443"
    assert caught.value.reason == "connection"
    assert caught.value.message.startswith("GET /api/v1/snapshots/ got no answer from the VPS.org API at %s: " % host)
    assert cause in caught.value.message


def test_an_answer_that_takes_too_long_names_the_timeout(vpsorg_sim):
    vpsorg_sim.control.fault("slow", count=1, delay=5)
    client = VpsorgClient(vpsorg_sim.api_url, vpsorg_sim.token, timeout=0.5, retry_policy=RetryPolicy(0, 1))
    with pytest.raises(VpsorgApiError) as caught:
        client.get("/snapshots/")
    assert "did not answer within api_timeout (0.5 s)" in caught.value.message


# ------------------------------------------------------------ the gate of requests in flight


def test_a_429_halves_the_gate_holds_it_for_retry_after_and_answers_widen_it_slowly():
    now = [100.0]
    slept = []
    gate = Gate(8, sleep=slept.append, clock=lambda: now[0])
    for _step in range(8):
        gate.enter()
    assert gate.in_flight == 8
    gate.leave(throttled=True, retry_after=2.0)
    assert gate.limit == 4
    for _step in range(4):
        gate.leave()
    assert gate.in_flight == 3
    gate.enter()  # a slot is free, but the API asked for 2 s of quiet first
    assert slept == [2.0]
    gate.leave(throttled=True)
    assert gate.limit == 2
    for _step in range(3):
        gate.leave()
    for _step in range(12):
        gate.enter()
        gate.leave()
    assert gate.limit == 2
    gate.enter()
    gate.leave()
    assert gate.limit == 3  # one more after 16 answers (twice the most) without a 429
    assert gate.in_flight == 0


def test_retry_after_wins_over_a_longer_backoff(vpsorg_sim):
    sleeps = []
    vpsorg_sim.control.fault("429", count=1, retry_after=1)
    client = VpsorgClient(vpsorg_sim.api_url, vpsorg_sim.token, sleep=sleeps.append,
                          retry_policy=RetryPolicy(3, 30, base_delay=10, jitter=lambda: 1.0))
    client.get("/servers/101/")
    assert sleeps[0] == 1.0


def test_each_kind_of_failure_is_a_class_of_its_own_and_keeps_its_name_in_the_result():
    kinds = ((VpsorgApiError, "http", False), (WrongUrlError, "wrong_url", False), (NoAnswerError, "connection", True),
             (UnreadableAnswerError, "invalid_response", True), (TornListError, "torn_list", True),
             (InvalidRequestError, "invalid_request", False), (WaitTimeoutError, "wait_timeout", False),
             (WaitGoneError, "wait_gone", False))
    for kind, reason, transient in kinds:
        error = kind("x", status=400)
        assert isinstance(error, VpsorgApiError) and error.reason == reason and error.to_dict()["reason"] == reason
        assert error.transient is transient
    # Whatever the kind, a 429 or a 5xx may pass; only the API's own 404 says the object does not exist.
    assert VpsorgApiError("x", status=503).transient and VpsorgApiError("x", status=429).transient
    assert VpsorgApiError("x", status=404).missing and not WrongUrlError("x", status=404).missing
