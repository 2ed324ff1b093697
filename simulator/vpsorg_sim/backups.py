"""Backups: manual ones (at most 10 per server) and automatic ones the provider's retention makes."""

import shutil

from .model import BACKUP, MANUAL_BACKUP_LIMIT, SimError, isoformat, not_found


class BackupsMixin:
    """The backup endpoints' behaviour; part of :class:`~vpsorg_sim.state.SimState`."""

    def seed_automatic_backup(self, server_id, created_at=None, expires_at=None, description=None, status="completed", size_mb=None):
        """An automatic backup as the provider's retention policy would have made it."""
        with self.lock:
            server = self._server(server_id)
            now = self.clock()
            created = created_at if created_at is not None else now - 86400
            record = {
                "id": self._take_id(BACKUP),
                "server_id": server["id"],
                "backup_type": "automatic",
                "status": status,
                "outcome": status,
                "ready_at": now,
                "size_mb": size_mb if size_mb is not None else 4523,
                "created_at": created,
                "expires_at": expires_at if expires_at is not None else created + 30 * 86400,
                "description": description if description is not None else "Automatic daily backup",
            }
            self._touch(record)
            self.backups[record["id"]] = record
            self._save()
            view = self.backup_view(record)
            disk = server["disk"]
        if disk:
            self._capture(BACKUP, record, disk)
        return view

    def backup_view(self, record):
        view = {
            "id": record["id"],
            "server": self._server_ref(record["server_id"]),
            "backup_type": record["backup_type"],
            "status": record["status"],
            "size_mb": record["size_mb"] if record["status"] == "completed" else None,
            "created_at": isoformat(record["created_at"]),
            "expires_at": isoformat(record["expires_at"]) if record["expires_at"] else None,
            "description": record["description"],
        }
        return self._with_extras(view)

    def list_backups(self, server_id=None, backup_type=None, replica=0):
        with self.lock:
            records = [
                r for r in self.backups.values()
                if (server_id is None or r["server_id"] == server_id)
                and (backup_type is None or r["backup_type"] == backup_type)
            ]
            return [self.backup_view(r) for r in self.ordered(records, replica)]

    def create_backup(self, server_id, description=""):
        with self.lock:
            server = self._server(server_id)
            manual = [r for r in self.backups.values() if r["server_id"] == server_id and r["backup_type"] == "manual"]
            if len(manual) >= MANUAL_BACKUP_LIMIT:
                raise SimError(400, {"detail": "Manual backup limit reached. Maximum %d manual backups per server." % MANUAL_BACKUP_LIMIT})
            record = self._new_creation(BACKUP, server)
            record.update({"backup_type": "manual", "expires_at": None, "description": description})
            self.backups[record["id"]] = record
            self._save()
            view = self.backup_view(record)
            view["message"] = "Backup is being created. This may take several minutes depending on server size."
            disk = server["disk"]
        if disk:
            self._capture(BACKUP, record, disk)
        return view

    def delete_backup(self, backup_id):
        with self.lock:
            if self.backups.pop(backup_id, None) is None:
                raise not_found("Backup")
            self._save()
        shutil.rmtree(self._capture_path(BACKUP, backup_id), ignore_errors=True)

    def restore_backup(self, server_id, backup_id):
        with self.lock:
            self._server(server_id)
            record = self.backups.get(backup_id)
            if record is None:
                raise not_found("Backup")
            if record["status"] != "completed":
                raise SimError(400, {"detail": "Backup is not in a valid state for restoration (status: %s)." % record["status"]})
            # The API does not say whether a backup may restore another server; the
            # simulator allows it, so the collection's own guard is what is tested.
            server = self._start_restore(server_id, BACKUP, backup_id)
            return {
                "status": "success",
                "message": "Server is being restored from backup. This may take several minutes.",
                "backup": {"id": record["id"], "description": record["description"], "created_at": isoformat(record["created_at"])},
                "server": server,
            }
