"""Pagination, ordering, faults on demand, the request log and concurrency."""

import concurrent.futures
import os
import subprocess
import sys
import time

import pytest
import requests


def test_one_page_by_default_and_not_sorted_by_date(vpsorg_sim, api):
    for index in range(3):
        api("POST", "/snapshots/", json={"server_id": 101, "name": "n%d" % index})
    listing = api("GET", "/snapshots/").json()
    assert listing["count"] == 3 and len(listing["results"]) == 3 and listing.get("next") is None


def test_pagination_with_absolute_links(vpsorg_sim, api):
    vpsorg_sim.control.configure(page_size=2)
    for index in range(5):
        api("POST", "/backups/", json={"server_id": 101, "description": "p%d" % index})
    seen, url, pages = [], vpsorg_sim.api_url + "/backups/?server_id=101", 0
    while url:
        page = requests.get(url, headers=api.headers, timeout=5).json()
        assert page["count"] == 5
        seen += [b["id"] for b in page["results"]]
        url, pages = page["next"], pages + 1
        assert url is None or url.startswith("http://127.0.0.1:")
        assert url is None or "server_id=101" in url
    assert pages == 3 and len(set(seen)) == 5
    last = api("GET", "/backups/", params={"page": 3}).json()
    assert last["previous"].endswith("page=2") and last["next"] is None
    assert api("GET", "/backups/", params={"page": 9}).status_code == 404


def test_configurable_order(vpsorg_sim, api):
    for index in range(4):
        api("POST", "/snapshots/", json={"server_id": 101 + index % 2, "name": "o%d" % index})
    vpsorg_sim.control.configure(order="-created_at")
    ids = [s["id"] for s in api("GET", "/snapshots/").json()["results"]]
    assert ids == sorted(ids, reverse=True)
    vpsorg_sim.control.configure(order="shuffle")
    scrambled = [s["id"] for s in api("GET", "/snapshots/").json()["results"]]
    assert scrambled != sorted(scrambled) and sorted(scrambled) == sorted(ids)
    assert [s["id"] for s in api("GET", "/snapshots/").json()["results"]] == scrambled  # stable across pages


@pytest.mark.parametrize("kind,status", [("429", 429), ("500", 500), ("502", 502), ("503", 503), ("504", 504)])
def test_status_faults(vpsorg_sim, api, kind, status):
    vpsorg_sim.control.fault(kind, count=1, retry_after=2)
    response = api("GET", "/snapshots/")
    assert response.status_code == status
    if status == 429:
        assert response.headers["Retry-After"] == "2"
    assert api("GET", "/snapshots/").status_code == 200


def test_dropped_connection_slow_answer_and_garbage(vpsorg_sim, api):
    vpsorg_sim.control.fault("drop", count=1)
    with pytest.raises(requests.ConnectionError):
        api("POST", "/snapshots/", json={"server_id": 101, "name": "never"})
    assert api("GET", "/snapshots/").json()["count"] == 0  # nothing was committed

    vpsorg_sim.control.fault("slow", count=1, delay=0.5)
    started = time.time()
    assert api("GET", "/snapshots/").status_code == 200
    assert time.time() - started >= 0.5

    vpsorg_sim.control.fault("garbage", count=1, status=502)
    response = api("GET", "/snapshots/")
    assert response.status_code == 502 and response.text.startswith("<html>")


def test_post_committed_but_answer_dropped(vpsorg_sim, api):
    vpsorg_sim.control.fault("commit_drop", count=1)
    with pytest.raises(requests.ConnectionError):
        api("POST", "/snapshots/", json={"server_id": 101, "name": "ghost"})
    names = [s["name"] for s in api("GET", "/snapshots/").json()["results"]]
    assert names == ["ghost"]


@pytest.mark.parametrize("kind", ["commit_drop", "commit_fail"])
def test_delete_carried_out_but_answer_lost(vpsorg_sim, api, kind):
    made = api("POST", "/snapshots/", json={"server_id": 101, "name": "going"}).json()
    vpsorg_sim.control.fault(kind, count=1, methods=["DELETE"])
    if kind == "commit_drop":
        with pytest.raises(requests.ConnectionError):
            api("DELETE", "/snapshots/%d/" % made["id"])
    else:
        assert api("DELETE", "/snapshots/%d/" % made["id"]).status_code == 500
    # The retry a client sends finds it gone.
    assert api("DELETE", "/snapshots/%d/" % made["id"]).status_code == 404
    assert [(e["fault"], e["carried_out"]) for e in vpsorg_sim.control.requests(method="DELETE")] == [
        (kind, True), (None, False)]


def test_a_commit_fault_never_fires_on_a_read_nor_on_a_refused_change(vpsorg_sim, api):
    vpsorg_sim.control.fault("commit_fail", count=1, methods=["GET", "DELETE"])
    assert api("GET", "/snapshots/").status_code == 200
    # The API refuses this one (no such snapshot): nothing was done, so its 404 stands.
    assert api("DELETE", "/snapshots/42/").status_code == 404
    assert [e["fault"] for e in vpsorg_sim.control.requests()] == [None, "commit_fail"]


def test_a_path_the_api_does_not_have_is_a_page_not_the_apis_error(vpsorg_sim, api):
    response = requests.get(vpsorg_sim.server.url + "/api/v2/servers/101/", headers=api.headers, timeout=5)
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")
    assert "<h1>Not Found</h1>" in response.text
    # An object that does not exist is the API's own JSON error.
    assert api("GET", "/servers/999/").json() == {"detail": "Server not found."}


def test_rate_faults_filtered_by_method_and_reset(vpsorg_sim, api):
    vpsorg_sim.control.fault("503", rate=1.0, methods=["DELETE"])
    assert api("GET", "/snapshots/").status_code == 200
    assert api("DELETE", "/snapshots/1/").status_code == 503
    vpsorg_sim.control.reset()
    assert api("DELETE", "/snapshots/1/").status_code == 404
    assert vpsorg_sim.control.requests() == [
        {**vpsorg_sim.control.requests()[0], "method": "DELETE", "path": "/api/v1/snapshots/1/", "status": 404}
    ]


def test_request_log_records_method_path_query_status(vpsorg_sim, api):
    api("GET", "/backups/", params={"server_id": 101})
    api("POST", "/snapshots/", json={"server_id": 999, "name": "x"})
    log = vpsorg_sim.control.requests()
    assert [(e["method"], e["path"], e["query"], e["status"]) for e in log] == [
        ("GET", "/api/v1/backups/", "server_id=101", 200),
        ("POST", "/api/v1/snapshots/", "", 404),
    ]
    assert len(vpsorg_sim.control.requests(method="POST")) == 1


def test_hundred_concurrent_clients_never_lose_or_duplicate(vpsorg_sim, api):
    for server_id in range(200, 220):
        vpsorg_sim.control.add_server(server_id)

    def create(index):
        return api("POST", "/snapshots/", json={"server_id": 200 + index % 20, "name": "c%d" % index}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(create, range(100)))
    assert statuses == [201] * 100
    results = api("GET", "/snapshots/").json()["results"]
    assert len(results) == 100
    assert len({s["id"] for s in results}) == 100 and len({s["name"] for s in results}) == 100


def test_cli_binds_a_free_port_and_writes_its_url(tmp_path):
    url_file = tmp_path / "sim.url"
    process = subprocess.Popen(
        [sys.executable, "-m", "vpsorg_sim", "--server", "1:one", "--url-file", str(url_file),
         "--fault", "429:count=1,retry_after=1", "--automatic-backups", "1=2"],
        stdout=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    try:
        deadline = time.monotonic() + 60
        while not url_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        url, pid = url_file.read_text().split()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/api/v1") and int(pid) == process.pid
        headers = {"Authorization": "Bearer sim-token"}
        assert requests.get(url + "/servers/1/", headers=headers, timeout=5).status_code == 429
        assert requests.get(url + "/servers/1/", headers=headers, timeout=5).json()["name"] == "one"
        seeded = requests.get(url + "/backups/", headers=headers, timeout=5).json()["results"]
        assert [b["backup_type"] for b in seeded] == ["automatic", "automatic"]
        assert all(b["expires_at"] and b["status"] == "completed" for b in seeded)
    finally:
        process.terminate()
        process.wait(timeout=10)
