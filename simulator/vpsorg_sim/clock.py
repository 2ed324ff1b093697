"""Simulated time: how long operations take, how they end, and holds that keep them running.

Time is modelled with deadlines instead of timers: a creation or a restore
records when it ends (``ready_at``) and how (``outcome``); ``advance()`` applies
every transition whose deadline has passed. It runs before every request and
from a background ticker, so a status never lags behind the clock and a
restart (which reloads the deadlines) picks up exactly where it left off.
"""

from .model import BACKUP, KINDS, RESTORE, SNAPSHOT, SimError


class ClockMixin:
    """Durations, planned outcomes, holds and ``advance``; part of :class:`~vpsorg_sim.state.SimState`."""

    def plan_outcome(self, kind, outcome="failed", server_id=None, count=1):
        """Make the next ``count`` operations of ``kind`` end with ``outcome``."""
        if kind not in KINDS:
            raise SimError(400, {"kind": ["Must be one of %s." % ", ".join(KINDS)]})
        with self.lock:
            self.planned_outcomes.append({"kind": kind, "outcome": outcome, "server_id": server_id, "count": count})
            self._save()

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
        """Real seconds an operation takes: its configured duration divided by the time scale."""
        per_server = self.config["server_durations"].get(str(server_id), {})
        return float(per_server.get(kind, self.config["durations"][kind])) / self.config["time_scale"]

    def _outcome(self, kind, server_id):
        for plan in self.planned_outcomes:
            if plan["kind"] == kind and plan["server_id"] in (None, server_id) and plan["count"] > 0:
                plan["count"] -= 1
                if plan["count"] == 0:
                    self.planned_outcomes.remove(plan)
                return plan["outcome"]
        return "completed"

    def advance(self):
        """Apply every transition whose deadline has passed.

        An operation whose disk is being copied (``copying``) ends only once
        the copy is done. A restore's copy back onto the server's disk runs
        here, after the lock is let go, so that no other request waits for it.
        """
        copies = []
        with self.lock:
            now = self.clock()
            changed = False
            for kind, record in list(self._running_operations()):
                if record["ready_at"] > now or self._held(kind, record["server_id"]) or record.get("copying"):
                    continue
                if kind == RESTORE:
                    copies.append(self._finish_restore(record["server_id"], record))
                else:
                    self._finish_creation(kind, record)
                changed = True
            if changed:
                self._save()
        for copy in filter(None, copies):
            copy()
