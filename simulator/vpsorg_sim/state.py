"""The simulator's state model: one account's servers, backups, snapshots and restores, and its clock.

Everything the API can observe lives in one :class:`SimState`, behind one
lock, so the HTTP layer stays a thin translation of requests into calls on
it. Each entity's behaviour is in its own module (servers, snapshots,
backups), time in ``clock``, and what creations share in ``records``.
"""

import json
import os
import random
import shutil
import tempfile
import threading
import time

from .backups import BackupsMixin
from .clock import ClockMixin
from .model import BACKUP, DEFAULT_DURATIONS, DISK_COPIES, ORDERS, REPLICA_ORDERS, SNAPSHOT, SimError
from .records import RecordsMixin
from .servers import ServersMixin
from .snapshots import SnapshotsMixin


class SimState(ServersMixin, SnapshotsMixin, BackupsMixin, RecordsMixin, ClockMixin):
    """All objects of the simulated account, their clock and their persistence."""

    def __init__(self, state_file=None, storage_dir=None, clock=time.time):
        self.lock = threading.RLock()
        self.clock = clock
        self.state_file = state_file
        if storage_dir is None:
            storage_dir = (state_file + ".d") if state_file else tempfile.mkdtemp(prefix="vpsorg-sim-")
        self.storage_dir = storage_dir
        os.makedirs(self.storage_dir, exist_ok=True)
        # server_id -> machine (see attach_machine); in-process only, never saved.
        self.machines = {}
        self._reset_objects()
        self.config = self._default_config()
        if state_file and os.path.exists(state_file):
            self._load()

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
            # Simulated seconds per real second: at 60, a "10-minute" snapshot takes 10 s.
            "time_scale": 1.0,
            # One of DISK_COPIES: how disks are captured and put back.
            "disk_copy": "tree",
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
        # List requests served so far: whose turn it is under the "replicas" order.
        self.list_requests = 0
        # The documented examples use ids 501 (backup) and 801 (snapshot).
        self.next_ids = {BACKUP: 501, SNAPSHOT: 801}

    def reset(self, servers=True):
        """Forget every backup, snapshot and plan; keep (or drop) the servers."""
        with self.lock:
            kept = self.servers if not servers else {}
            self.machines = {k: v for k, v in self.machines.items() if k in kept}
            for server in kept.values():
                server["status"] = "running"
            self._reset_objects()
            self.servers = kept
            self.config = self._default_config()
            shutil.rmtree(self.storage_dir, ignore_errors=True)
            os.makedirs(self.storage_dir, exist_ok=True)
            self._save()

    def configure(self, **changes):
        with self.lock:
            for key, value in changes.items():
                if key not in self.config:
                    raise SimError(400, {key: ["Unknown setting."]})
                if key == "order" and value not in ORDERS:
                    raise SimError(400, {key: ["Must be one of %s." % ", ".join(ORDERS)]})
                if key == "disk_copy" and value not in DISK_COPIES:
                    raise SimError(400, {key: ["Must be one of %s." % ", ".join(DISK_COPIES)]})
                if key == "time_scale" and not (isinstance(value, (int, float)) and value > 0):
                    raise SimError(400, {key: ["Must be a number above 0."]})
                if key in ("durations", "server_durations"):
                    self.config[key].update(value)
                else:
                    self.config[key] = value
            self._save()
            return self.config

    def next_replica(self):
        """The replica that serves this list request: they take turns, one request each."""
        with self.lock:
            turn = self.list_requests % len(REPLICA_ORDERS)
            self.list_requests += 1
            return turn

    def ordered(self, records, replica=0):
        """``records`` in the configured list order (see ORDERS); ``replica`` is the turn for "replicas"."""
        order = self.config["order"]
        if order == "replicas":
            order = REPLICA_ORDERS[replica % len(REPLICA_ORDERS)]
        if order == "reshuffle":
            records = list(records)
            random.shuffle(records)
            return records
        keys = {
            "shuffle": lambda r: (r["id"] * 2654435761) % 4294967296,
            "updated": lambda r: (r.get("touched", 0), r["id"]),
            "created_at": lambda r: (r["created_at"], r["id"]),
            "-created_at": lambda r: (-r["created_at"], -r["id"]),
            "-id": lambda r: -r["id"],
        }
        return sorted(records, key=keys.get(order, lambda r: r["id"]))

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
        # A copy cut short by a stop is done again (a restore) or taken as it is (a capture).
        for record in list(self.snapshots.values()) + list(self.backups.values()) + list(self.restores.values()):
            record.pop("copying", None)
        self.planned_outcomes = data["planned_outcomes"]
        self.holds = data.get("holds", [])
        self.touch_counter = data.get("touch_counter", 0)
        self.next_ids = data["next_ids"]
        self.config.update(data["config"])
