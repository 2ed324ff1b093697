"""The API client against the simulator, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import time

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils.client import (
    Deadline,
    RetryPolicy,
    VpsorgApiError,
    VpsorgClient,
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
