"""The simulator's whole state model: servers, backups, snapshots, restores and time.

Everything the API can observe lives here, behind one lock, so the HTTP layer
(``app.py``) stays a thin translation of requests into calls on ``SimState``.

Time is modelled with deadlines instead of timers: a creation or a restore
records when it ends (``ready_at``) and how (``outcome``); ``advance()`` applies
every transition whose deadline has passed. It runs before every request and
from a background ticker, so a status never lags behind the clock and a
restart (which reloads the deadlines) picks up exactly where it left off.
"""

import datetime
import json
import os
import random
import shutil
import tempfile
import threading
import time

SNAPSHOT = "snapshot"
BACKUP = "backup"
RESTORE = "restore"
KINDS = (SNAPSHOT, BACKUP, RESTORE)

SNAPSHOT_LIMIT = 5
MANUAL_BACKUP_LIMIT = 10
NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 255

# A file on a server's disk whose content decides the health endpoint's answer.
HEALTH_FILE = "health"
# A file on a server's disk that, when it says "down", cuts the server off the network.
NETWORK_FILE = "network"

DEFAULT_DURATIONS = {SNAPSHOT: 1.0, BACKUP: 2.0, RESTORE: 1.0}

# How lists are ordered. None of them is documented; the contract only says a
# list has no order and that the order may change between two page requests.
#   id, created_at, -created_at: stable sorts.
#   shuffle:   arbitrary but stable, like a table scan that nothing updates.
#   updated:   the last changed row comes last, like a heap table where an
#              UPDATE (a status change) writes the row anew: a paged read taken
#              while an object completes can skip one object and repeat another.
#   reshuffle: a new arbitrary order for every request, the worst case.
ORDERS = ("id", "created_at", "-created_at", "shuffle", "updated", "reshuffle")


class SimError(Exception):
    """An API-level refusal: the HTTP layer turns it into ``status`` + ``body``."""

    def __init__(self, status, body):
        super().__init__(body)
        self.status = status
        self.body = body


def not_found(what):
    return SimError(404, {"detail": "%s not found." % what})


def isoformat(epoch):
    stamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _dir_size_mb(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                pass
    # A real image is never empty; report at least 1 MB like a provider would.
    return max(1, total // (1024 * 1024))


def _empty_directory(path):
    for entry in os.listdir(path):
        full = os.path.join(path, entry)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)


class SimState:
    """All objects of the simulated account, their clock and their persistence."""

    def __init__(self, state_file=None, storage_dir=None, clock=time.time):
        self.lock = threading.RLock()
        self.clock = clock
        self.state_file = state_file
        if storage_dir is None:
            storage_dir = (state_file + ".d") if state_file else tempfile.mkdtemp(prefix="vpsorg-sim-")
        self.storage_dir = storage_dir
        os.makedirs(self.storage_dir, exist_ok=True)
        self._reset_objects()
        self.config = self._default_config()
        if state_file and os.path.exists(state_file):
            self._load()

    # ------------------------------------------------------------------ setup

    @staticmethod
    def _default_config():
        return {
            "durations": dict(DEFAULT_DURATIONS),
            # {server_id (str): {kind: seconds}}
            "server_durations": {},
            # None: one page, as in the documented examples.
            "page_size": None,
            # One of ORDERS (see ordered()).
            "order": "id",
            # Add fields the contract does not know, to prove clients ignore them.
            "extra_fields": False,
        }

    def _reset_objects(self):
        self.servers = {}
        self.backups = {}
        self.snapshots = {}
        self.restores = {}  # server_id -> pending restore
        self.planned_outcomes = []
        # Operations that must not end until released: [{"kind", "server_id"}].
        self.holds = []
        # Bumped on every change of a row, for the "updated" order.
        self.touch_counter = 0
        # The documented examples use ids 501 (backup) and 801 (snapshot).
        self.next_ids = {BACKUP: 501, SNAPSHOT: 801}

    def reset(self, servers=True):
        """Forget every backup, snapshot and plan; keep (or drop) the servers."""
        with self.lock:
            kept = self.servers if not servers else {}
            for server in kept.values():
                server["status"] = "running"
            self._reset_objects()
            self.servers = kept
            self.config = self._default_config()
            shutil.rmtree(self.storage_dir, ignore_errors=True)
            os.makedirs(self.storage_dir, exist_ok=True)
            self._save()

    def add_server(self, server_id, name, disk=None, status="running"):
        with self.lock:
            if disk:
                disk = os.path.abspath(disk)
                os.makedirs(disk, exist_ok=True)
            self.servers[int(server_id)] = {"id": int(server_id), "name": name, "status": status, "disk": disk}
            self._save()
            return self.servers[int(server_id)]

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
            if server["disk"]:
                self._capture(BACKUP, record["id"], server)
            self._touch(record)
            self.backups[record["id"]] = record
            self._save()
            return self.backup_view(record)

    def configure(self, **changes):
        with self.lock:
            for key, value in changes.items():
                if key not in self.config:
                    raise SimError(400, {key: ["Unknown setting."]})
                if key == "order" and value not in ORDERS:
                    raise SimError(400, {key: ["Must be one of %s." % ", ".join(ORDERS)]})
                if key in ("durations", "server_durations"):
                    self.config[key].update(value)
                else:
                    self.config[key] = value
            self._save()
            return self.config

    def plan_outcome(self, kind, outcome="failed", server_id=None, count=1):
        """Make the next ``count`` operations of ``kind`` end with ``outcome``."""
        if kind not in KINDS:
            raise SimError(400, {"kind": ["Must be one of %s." % ", ".join(KINDS)]})
        with self.lock:
            self.planned_outcomes.append({"kind": kind, "outcome": outcome, "server_id": server_id, "count": count})
            self._save()

    # ------------------------------------------------------------------- time

    def hold(self, kind, server_id=None):
        """Keep every operation of ``kind`` (on ``server_id``, or any) unfinished until released.

        Tests use it to make "still in progress" a fact they set up instead of
        a race against the machine's speed.
        """
        if kind not in KINDS:
            raise SimError(400, {"kind": ["Must be one of %s." % ", ".join(KINDS)]})
        with self.lock:
            self.holds.append({"kind": kind, "server_id": server_id})
            self._save()

    def release(self, kind=None, server_id=None, finish=False):
        """Drop the matching holds; with ``finish`` their operations end at once."""
        with self.lock:
            def matches(kind_, server_id_):
                return kind in (None, kind_) and server_id in (None, server_id_)

            self.holds = [h for h in self.holds if not matches(h["kind"], h["server_id"])]
            if finish:
                now = self.clock()
                for record_kind, record in self._running_operations():
                    if matches(record_kind, record["server_id"]):
                        record["ready_at"] = min(record["ready_at"], now)
            self._save()
        self.advance()

    def _held(self, kind, server_id):
        return any(h["kind"] == kind and h["server_id"] in (None, server_id) for h in self.holds)

    def _running_operations(self):
        """(kind, record) for every creation in progress and every restore under way."""
        for kind, records in ((SNAPSHOT, self.snapshots), (BACKUP, self.backups)):
            for record in records.values():
                if record["status"] == "in_progress":
                    yield kind, record
        for restore in self.restores.values():
            yield RESTORE, restore

    def duration(self, kind, server_id):
        per_server = self.config["server_durations"].get(str(server_id), {})
        return float(per_server.get(kind, self.config["durations"][kind]))

    def _outcome(self, kind, server_id):
        for plan in self.planned_outcomes:
            if plan["kind"] == kind and plan["server_id"] in (None, server_id) and plan["count"] > 0:
                plan["count"] -= 1
                if plan["count"] == 0:
                    self.planned_outcomes.remove(plan)
                return plan["outcome"]
        return "completed"

    def advance(self):
        """Apply every transition whose deadline has passed."""
        with self.lock:
            now = self.clock()
            changed = False
            for kind, record in list(self._running_operations()):
                if record["ready_at"] > now or self._held(kind, record["server_id"]):
                    continue
                if kind == RESTORE:
                    self._finish_restore(record["server_id"], record)
                else:
                    self._finish_creation(kind, record)
                changed = True
            if changed:
                self._save()

    def _finish_creation(self, kind, record):
        record["status"] = record["outcome"]
        self._touch(record)
        capture = self._capture_path(kind, record["id"])
        if record["outcome"] == "completed":
            record["size_mb"] = _dir_size_mb(capture) if os.path.isdir(capture) else 5120
        else:
            shutil.rmtree(capture, ignore_errors=True)

    def _finish_restore(self, server_id, restore):
        del self.restores[server_id]
        server = self.servers.get(server_id)
        if server is None:
            return
        if restore["outcome"] != "completed":
            server["status"] = "error"
            return
        capture = self._capture_path(restore["source_kind"], restore["source_id"])
        if server["disk"] and os.path.isdir(capture):
            _empty_directory(server["disk"])
            shutil.copytree(capture, server["disk"], dirs_exist_ok=True, symlinks=True)
        server["status"] = "running"

    # ------------------------------------------------------------------ disks

    def _capture_path(self, kind, object_id):
        return os.path.join(self.storage_dir, "%s-%s" % (kind, object_id))

    def _capture(self, kind, object_id, server):
        target = self._capture_path(kind, object_id)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(server["disk"], target, symlinks=True)

    def reachable(self, server_id):
        """Whether the server answers on the network (its service port is open)."""
        with self.lock:
            server = self._server(server_id)
            if server["status"] != "running":
                return False
            if not server["disk"]:
                return True
            try:
                with open(os.path.join(server["disk"], NETWORK_FILE)) as handle:
                    return handle.read().strip() != "down"
            except OSError:
                return True

    def health(self, server_id):
        """(HTTP status, body) of the server's own health endpoint."""
        with self.lock:
            server = self._server(server_id)
            if server["status"] != "running":
                return 503, "server is %s\n" % server["status"]
            if not self.reachable(server_id):
                return 503, "server is unreachable\n"
            if not server["disk"]:
                return 200, "ok\n"
            try:
                with open(os.path.join(server["disk"], HEALTH_FILE)) as handle:
                    content = handle.read().strip()
            except OSError:
                content = "missing"
            return (200, "ok\n") if content == "ok" else (503, "unhealthy: %s\n" % content)

    # ---------------------------------------------------------------- servers

    def _server(self, server_id):
        server = self.servers.get(server_id)
        if server is None:
            raise not_found("Server")
        return server

    def server_view(self, server_id):
        with self.lock:
            server = self._server(server_id)
            return {"id": server["id"], "name": server["name"], "status": server["status"]}

    def _server_ref(self, server_id):
        server = self.servers.get(server_id, {"id": server_id, "name": None})
        return {"id": server["id"], "name": server["name"]}

    # -------------------------------------------------------------- snapshots

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

    def list_snapshots(self, server_id=None):
        with self.lock:
            records = [r for r in self.snapshots.values() if server_id is None or r["server_id"] == server_id]
            return [self.snapshot_view(r) for r in self.ordered(records)]

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
            return view

    def delete_snapshot(self, snapshot_id):
        with self.lock:
            if self.snapshots.pop(snapshot_id, None) is None:
                raise not_found("Snapshot")
            shutil.rmtree(self._capture_path(SNAPSHOT, snapshot_id), ignore_errors=True)
            self._save()

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

    # ---------------------------------------------------------------- backups

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

    def list_backups(self, server_id=None, backup_type=None):
        with self.lock:
            records = [
                r for r in self.backups.values()
                if (server_id is None or r["server_id"] == server_id)
                and (backup_type is None or r["backup_type"] == backup_type)
            ]
            return [self.backup_view(r) for r in self.ordered(records)]

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
            return view

    def delete_backup(self, backup_id):
        with self.lock:
            if self.backups.pop(backup_id, None) is None:
                raise not_found("Backup")
            shutil.rmtree(self._capture_path(BACKUP, backup_id), ignore_errors=True)
            self._save()

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

    # ----------------------------------------------------------------- shared

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

    def _start_restore(self, server_id, source_kind, source_id):
        server = self._server(server_id)
        if server["status"] != "running" and server["status"] != "stopped":
            raise SimError(400, {"detail": "Server is not in a valid state for restoration (status: %s)." % server["status"]})
        self.restores[server_id] = {
            "server_id": server_id,
            "source_kind": source_kind,
            "source_id": source_id,
            "outcome": self._outcome(RESTORE, server_id),
            "ready_at": self.clock() + self.duration(RESTORE, server_id),
        }
        server["status"] = "restoring"
        self._save()
        return {"id": server["id"], "name": server["name"], "status": server["status"]}

    def _touch(self, record):
        self.touch_counter += 1
        record["touched"] = self.touch_counter

    def ordered(self, records):
        """``records`` in the configured list order (see ORDERS)."""
        order = self.config["order"]
        if order == "reshuffle":
            records = list(records)
            random.shuffle(records)
            return records
        keys = {
            "shuffle": lambda r: (r["id"] * 2654435761) % 4294967296,
            "updated": lambda r: (r.get("touched", 0), r["id"]),
            "created_at": lambda r: (r["created_at"], r["id"]),
            "-created_at": lambda r: (-r["created_at"], -r["id"]),
        }
        return sorted(records, key=keys.get(order, lambda r: r["id"]))

    def _with_extras(self, view):
        if self.config["extra_fields"]:
            view["location"] = {"id": 3, "code": "ams1"}
            view["checksum"] = "sha256:%064x" % view["id"]
        return view

    # ------------------------------------------------------------ persistence

    def _snapshot_of_state(self):
        return {
            "servers": list(self.servers.values()),
            "backups": list(self.backups.values()),
            "snapshots": list(self.snapshots.values()),
            "restores": {str(k): v for k, v in self.restores.items()},
            "planned_outcomes": self.planned_outcomes,
            "holds": self.holds,
            "touch_counter": self.touch_counter,
            "next_ids": self.next_ids,
            "config": self.config,
        }

    def _save(self):
        if not self.state_file:
            return
        directory = os.path.dirname(os.path.abspath(self.state_file))
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".vpsorg-sim-state-")
        with os.fdopen(fd, "w") as handle:
            json.dump(self._snapshot_of_state(), handle)
        # Atomic replacement: a crash mid-write never leaves a torn state file.
        os.replace(tmp, self.state_file)

    def _load(self):
        with open(self.state_file) as handle:
            data = json.load(handle)
        self.servers = {s["id"]: s for s in data["servers"]}
        self.backups = {b["id"]: b for b in data["backups"]}
        self.snapshots = {s["id"]: s for s in data["snapshots"]}
        self.restores = {int(k): v for k, v in data["restores"].items()}
        self.planned_outcomes = data["planned_outcomes"]
        self.holds = data.get("holds", [])
        self.touch_counter = data.get("touch_counter", 0)
        self.next_ids = data["next_ids"]
        self.config.update(data["config"])
