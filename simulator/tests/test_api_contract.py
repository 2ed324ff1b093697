"""Every documented endpoint, status code and body shape, over HTTP."""

import time

import pytest
import requests


def wait_status(api, path, object_id, status, timeout=60):
    # A bound, not a wait: the status comes within a second on a quiet machine.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = [o for o in api("GET", path).json()["results"] if o["id"] == object_id]
        if items and items[0]["status"] == status:
            return items[0]
        time.sleep(0.05)
    raise AssertionError("%s %s never became %s" % (path, object_id, status))


def test_auth_missing_and_wrong_token(vpsorg_sim, api):
    assert requests.get(vpsorg_sim.api_url + "/snapshots/", timeout=5).status_code == 401
    wrong = requests.get(vpsorg_sim.api_url + "/backups/", headers={"Authorization": "Bearer nope"}, timeout=5)
    assert wrong.status_code == 401 and "detail" in wrong.json()
    assert api("GET", "/snapshots/").status_code == 200


def test_snapshot_lifecycle_and_shapes(api):
    created = api("POST", "/snapshots/", json={"server_id": 101, "name": "pre-patch", "description": "before"})
    assert created.status_code == 201
    body = created.json()
    assert body["status"] == "in_progress" and body["size_mb"] is None and "message" in body
    assert body["server"] == {"id": 101, "name": "web-01"}
    assert set(body) == {"id", "server", "name", "status", "size_mb", "created_at", "description", "message"}
    done = wait_status(api, "/snapshots/", body["id"], "completed")
    assert done["size_mb"] >= 1 and "message" not in done
    listing = api("GET", "/snapshots/", params={"server_id": 102}).json()
    assert listing["count"] == 0 and listing["results"] == []
    assert api("DELETE", "/snapshots/%d/" % body["id"]).status_code == 204
    assert api("DELETE", "/snapshots/%d/" % body["id"]).status_code == 404


def test_backup_lifecycle_and_filters(vpsorg_sim, api):
    vpsorg_sim.control.seed_automatic_backup(101)
    created = api("POST", "/backups/", json={"server_id": 101, "description": "manual one"})
    assert created.status_code == 201
    body = created.json()
    assert body["backup_type"] == "manual" and body["status"] == "in_progress"
    assert body["expires_at"] is None and body["size_mb"] is None and "message" in body
    done = wait_status(api, "/backups/", body["id"], "completed")
    assert done["expires_at"] is None
    automatic = api("GET", "/backups/", params={"backup_type": "automatic"}).json()["results"]
    assert len(automatic) == 1 and automatic[0]["expires_at"] is not None
    assert api("GET", "/backups/", params={"server_id": 101, "backup_type": "manual"}).json()["count"] == 1
    assert api("GET", "/backups/", params={"backup_type": "weekly"}).status_code == 400
    assert api("DELETE", "/backups/%d/" % automatic[0]["id"]).status_code == 204
    assert api("DELETE", "/backups/999999/").status_code == 404


def test_server_endpoint(api):
    assert api("GET", "/servers/101/").json() == {"id": 101, "name": "web-01", "status": "running"}
    assert api("GET", "/servers/999/").status_code == 404


@pytest.mark.parametrize("body,field", [
    ({"name": "x"}, "server_id"),
    ({"server_id": "101", "name": "x"}, "server_id"),
    ({"server_id": True, "name": "x"}, "server_id"),
    ({"server_id": 1.5, "name": "x"}, "server_id"),
    ({"server_id": 101}, "name"),
    ({"server_id": 101, "name": ""}, "name"),
    ({"server_id": 101, "name": "has space"}, "name"),
    ({"server_id": 101, "name": "dot.name"}, "name"),
    ({"server_id": 101, "name": "x" * 101}, "name"),
    ({"server_id": 101, "name": "ok", "description": "d" * 256}, "description"),
    ({"server_id": 101, "name": "ok", "description": 5}, "description"),
])
def test_snapshot_validation_has_per_field_messages(api, body, field):
    response = api("POST", "/snapshots/", json=body)
    assert response.status_code == 400
    assert isinstance(response.json()[field], list)
    assert api("GET", "/snapshots/").json()["count"] == 0


def test_backup_validation_and_unknown_server(api):
    assert "server_id" in api("POST", "/backups/", json={"server_id": False}).json()
    assert api("POST", "/backups/", json={"server_id": 999}).status_code == 404
    assert api("POST", "/snapshots/", json={"server_id": 999, "name": "a"}).status_code == 404


def test_body_that_is_not_json(api):
    response = api("POST", "/snapshots/", data="server_id=101", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "JSON parse error" in response.json()["detail"]
    assert api("POST", "/backups/", json=[1, 2]).status_code == 400


def test_snapshot_limit_is_five_per_server(api):
    for index in range(5):
        assert api("POST", "/snapshots/", json={"server_id": 101, "name": "s%d" % index}).status_code == 201
    refused = api("POST", "/snapshots/", json={"server_id": 101, "name": "s5"})
    assert refused.status_code == 400 and "limit" in refused.json()["detail"].lower()
    assert api("POST", "/snapshots/", json={"server_id": 102, "name": "s5"}).status_code == 201


def test_manual_backup_limit_is_ten_and_ignores_automatic(vpsorg_sim, api):
    for _day in range(3):
        vpsorg_sim.control.seed_automatic_backup(101)
    for index in range(10):
        assert api("POST", "/backups/", json={"server_id": 101, "description": "b%d" % index}).status_code == 201
    refused = api("POST", "/backups/", json={"server_id": 101})
    assert refused.status_code == 400 and "limit" in refused.json()["detail"].lower()


def test_restore_refusals(vpsorg_sim, api):
    vpsorg_sim.control.configure(durations={"snapshot": 30, "restore": 30})
    pending = api("POST", "/snapshots/", json={"server_id": 101, "name": "slow"}).json()
    refused = api("POST", "/snapshots/%d/restore/" % pending["id"])
    assert refused.status_code == 400 and "valid state" in refused.json()["detail"]
    assert api("POST", "/snapshots/999/restore/").status_code == 404
    backup = vpsorg_sim.control.seed_automatic_backup(101)
    started = api("POST", "/servers/101/restore/", json={"backup_id": backup["id"]})
    assert started.status_code == 200
    assert started.json()["server"]["status"] == "restoring" and started.json()["backup"]["id"] == backup["id"]
    again = api("POST", "/servers/101/restore/", json={"backup_id": backup["id"]})
    assert again.status_code == 400 and "restoring" in again.json()["detail"]
    assert api("POST", "/servers/101/restore/", json={"backup_id": 4242}).status_code == 404
    assert api("POST", "/servers/101/restore/", json={}).status_code == 400
