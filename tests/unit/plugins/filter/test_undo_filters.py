"""The undo's filters take what each host left, also from a host that left the play before leaving anything."""

from __future__ import annotations

from ansible_collections.vpsorg.cloud.plugins.filter.undo import undo_gathered

PLAN = {"run_id": "c1", "snapshot_name": "pre-patch-c1", "hosts": {
    host: {"action": "restore", "server_id": server_id, "snapshot": {"id": 800 + server_id - 100}, "server_status": "running",
           "reason": None} for host, server_id in (("web-01", 101), ("web-02", 102), ("web-03", 103))}}
WAVE = {"number": 1, "stop": None, "started_at": 50.0, "dry_run": False, "batch": ["web-01", "web-02", "web-03"],
        "restoring": ["web-01", "web-02", "web-03"]}


def test_a_host_without_its_record_or_its_restore_is_read_as_none_not_an_error():
    # As undo.yml hands them: by host of the wave, none where the host left nothing.
    found = {"web-01": {"host": "web-01", "status": "undone"}, "web-02": None, "web-03": None}
    restores = {"web-01": None, "web-02": {"changed": True}, "web-03": None}
    records = undo_gathered(PLAN, WAVE, found, restores)
    assert {host: record["status"] for host, record in records.items()} == {
        "web-01": "undone", "web-02": "undo_unhealthy", "web-03": "undo_failed"}
