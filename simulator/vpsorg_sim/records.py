"""What snapshots and backups share: ids, creation records, disk captures, and the row order touch."""

import os
import shutil

from .model import SNAPSHOT, _copy_disk, _dir_size_mb, not_found


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
            # The caller copies the disk with _capture once it has let go of the lock;
            # until then the record cannot end (advance skips it).
            record["copying"] = True
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

    def _capture(self, kind, record, disk):
        """Copy ``disk`` into the record's capture, without holding the lock.

        A whole root file system takes seconds to copy: no other request, and
        no other server's operation, waits for it. A copy that fails takes the
        record with it, as if it had never been made.
        """
        records = self.snapshots if kind == SNAPSHOT else self.backups
        target = self._capture_path(kind, record["id"])
        shutil.rmtree(target, ignore_errors=True)
        try:
            _copy_disk(disk, target, self.config["disk_copy"])
        except Exception:
            with self.lock:
                records.pop(record["id"], None)
                self._save()
            shutil.rmtree(target, ignore_errors=True)
            raise
        with self.lock:
            record["copying"] = False
            deleted = records.get(record["id"]) is not record
            self._save()
        if deleted:
            shutil.rmtree(target, ignore_errors=True)

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
