"""What snapshots and backups share: ids, creation records, disk captures, and the row order touch."""

import os
import shutil

from .model import _copy_disk, _dir_size_mb, not_found


class RecordsMixin:
    """Creation records and disk captures; part of :class:`~vpsorg_sim.state.SimState`."""

    def _take_id(self, kind):
        object_id = self.next_ids[kind]
        self.next_ids[kind] += 1
        return object_id

    def _new_creation(self, kind, server):
        now = self.clock()
        record = {
            "id": self._take_id(kind),
            "server_id": server["id"],
            "status": "in_progress",
            "outcome": self._outcome(kind, server["id"]),
            "ready_at": now + self.duration(kind, server["id"]),
            "size_mb": None,
            "created_at": now,
        }
        self._touch(record)
        if server["disk"]:
            self._capture(kind, record["id"], server)
        return record

    def _touch(self, record):
        self.touch_counter += 1
        record["touched"] = self.touch_counter

    def _finish_creation(self, kind, record):
        record["status"] = record["outcome"]
        self._touch(record)
        capture = self._capture_path(kind, record["id"])
        if record["outcome"] == "completed":
            record["size_mb"] = _dir_size_mb(capture) if os.path.isdir(capture) else 5120
        else:
            shutil.rmtree(capture, ignore_errors=True)

    def _capture_path(self, kind, object_id):
        return os.path.join(self.storage_dir, "%s-%s" % (kind, object_id))

    def _capture(self, kind, object_id, server):
        target = self._capture_path(kind, object_id)
        shutil.rmtree(target, ignore_errors=True)
        _copy_disk(server["disk"], target, self.config["disk_copy"])

    def _with_extras(self, view):
        if self.config["extra_fields"]:
            view["location"] = {"id": 3, "code": "ams1"}
            view["checksum"] = "sha256:%064x" % view["id"]
        return view

    def backdate(self, kind, object_id, age_seconds):
        """Make a snapshot or backup look ``age_seconds`` old (negative: created in the future, as under clock skew)."""
        with self.lock:
            records = {"snapshot": self.snapshots, "backup": self.backups}.get(kind)
            if records is None or object_id not in records:
                raise not_found(str(kind).capitalize())
            records[object_id]["created_at"] = self.clock() - float(age_seconds)
            self._save()
