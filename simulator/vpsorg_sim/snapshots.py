"""Snapshots: at most 5 per server, restorable onto their own server."""

import shutil

from .model import SNAPSHOT, SNAPSHOT_LIMIT, SimError, isoformat, not_found


class SnapshotsMixin:
    """The snapshot endpoints' behaviour; part of :class:`~vpsorg_sim.state.SimState`."""

    def snapshot_view(self, record):
        view = {
            "id": record["id"],
            "server": self._server_ref(record["server_id"]),
            "name": record["name"],
            "status": record["status"],
            "size_mb": record["size_mb"] if record["status"] == "completed" else None,
            "created_at": isoformat(record["created_at"]),
            "description": record["description"],
        }
        return self._with_extras(view)

    def list_snapshots(self, server_id=None, replica=0):
        with self.lock:
            records = [r for r in self.snapshots.values() if server_id is None or r["server_id"] == server_id]
            return [self.snapshot_view(r) for r in self.ordered(records, replica)]

    def create_snapshot(self, server_id, name, description=""):
        with self.lock:
            server = self._server(server_id)
            owned = [r for r in self.snapshots.values() if r["server_id"] == server_id]
            if len(owned) >= SNAPSHOT_LIMIT:
                raise SimError(400, {"detail": "Snapshot limit reached. Maximum %d snapshots per server." % SNAPSHOT_LIMIT})
            record = self._new_creation(SNAPSHOT, server)
            record.update({"name": name, "description": description})
            self.snapshots[record["id"]] = record
            self._save()
            view = self.snapshot_view(record)
            view["message"] = "Snapshot is being created. This may take 3-10 minutes depending on server size."
            disk = server["disk"]
        if disk:
            self._capture(SNAPSHOT, record, disk)
        return view

    def delete_snapshot(self, snapshot_id):
        with self.lock:
            if self.snapshots.pop(snapshot_id, None) is None:
                raise not_found("Snapshot")
            self._save()
        shutil.rmtree(self._capture_path(SNAPSHOT, snapshot_id), ignore_errors=True)

    def restore_snapshot(self, snapshot_id):
        with self.lock:
            record = self.snapshots.get(snapshot_id)
            if record is None:
                raise not_found("Snapshot")
            if record["status"] != "completed":
                raise SimError(400, {"detail": "Snapshot is not in a valid state for restoration (status: %s)." % record["status"]})
            server = self._start_restore(record["server_id"], SNAPSHOT, snapshot_id)
            return {
                "status": "success",
                "message": "Server is being restored from snapshot. This may take 5-15 minutes.",
                "snapshot": {"id": record["id"], "name": record["name"], "created_at": isoformat(record["created_at"])},
                "server": server,
            }
