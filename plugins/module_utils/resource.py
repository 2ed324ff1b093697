# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One engine for keyed, limited, rotatable resources: snapshots and manual backups.

A snapshot is keyed by (server, name) with at most 5 per server; a manual
backup by (server, description) with at most 10 manual ones per server. The
rules around them (idempotent create, retention, limit errors, reconciliation
of a lost create, a same-key race, waiting, absent) are the same, so they
live here once and the two modules only declare their :class:`Kind`.

A task works on one server (``server_id``) or on many (``server_ids``). Each
server is a :class:`Target`, and every phase runs for all targets at once:
one listing decides what exists, every create is sent, one listing looks for
racing twins, one listing per poll serves every wait, one listing plans the
rotation. A fleet of N servers therefore costs N creates plus a handful of
reads, and for one server the requests are exactly those of a single task.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ansible_collections.vpsorg.cloud.plugins.module_utils.base import VpsorgModule
from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import created_key, newest_first, server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.client import (
    ALREADY_GONE,
    DELETED_ANSWER_LOST,
    Pace,
    UnreadableAnswerError,
    VpsorgApiError,
)
from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import Lookup, Servers
from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import (
    COMPLETED,
    deletes_needed_first,
    hold_seconds,
    newest_reusable,
    parse_duration,
    plan_rotation,
)

if TYPE_CHECKING:
    from typing import Any, Iterable

    from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import Kind
    from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import ApiObject
    from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import RotationPlan

# Inferred: only "in_progress" and "completed" are documented. Any status we do
# not know is treated as still working, so an unknown transient state never
# fails a task early; these are the ones that end a wait as a failure.
FAILED_STATUSES = ("failed", "error", "cancelled", "canceled")

# Beside a deletion whose DELETE was carried out but answered with a 5xx or not at all.
LOST_ANSWER_NOTE = ("the API's answer to the DELETE was lost (an error or a dropped connection) and the retry found "
                    "it gone: counted as deleted by this task")


def is_settled(obj: ApiObject) -> bool:
    return obj.get("status") == COMPLETED or obj.get("status") in FAILED_STATUSES


def survivor(matches: Iterable[ApiObject]) -> ApiObject:
    """Of objects racing for one key, the one every racing task keeps: the oldest."""
    return min(matches, key=created_key)


def resource_argument_spec(id_option: str, wait_timeout: int, **own: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The options every keyed resource module takes, plus its ``own``."""
    spec = dict(
        server_id=dict(type="int"),
        server_ids=dict(type="list", elements="int"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=wait_timeout),
        rotate=dict(type="dict", options=dict(
            prefix=dict(type="str", required=True, no_log=False),
            keep=dict(type="int", no_log=False),
            max_age=dict(type="str"),
        )),
        reuse_within=dict(type="str"),
    )
    spec[id_option] = dict(type="int")
    spec.update(own)
    return spec


def describe(obj: ApiObject, key_field: str) -> str:
    return "%s (id %s, created %s, %s)" % (
        obj.get(key_field) or "<no %s>" % key_field, obj.get("id"), obj.get("created_at"), obj.get("status"))


def summary(obj: ApiObject, key_field: str, reason: str | None = None) -> dict[str, Any]:
    """The few fields a message or a deleted-list needs (and, for rotation, why it goes)."""
    fields: dict[str, Any] = {
        "id": obj.get("id"),
        key_field: obj.get(key_field),
        "created_at": obj.get("created_at"),
        "status": obj.get("status"),
    }
    if reason:
        fields["reason"] = reason
    return fields


# eq=False keeps equality by identity: a wait drops a target from its list with list.remove, which must drop that one.
@dataclasses.dataclass(eq=False)
class Target:
    """One server's part of a task: its object, what was deleted there, or why it failed."""

    server_id: int | None
    obj: ApiObject | None = None              # the keyed object: found, reused, planned or created
    view: list[ApiObject] | None = None       # the server's objects as this task last listed them, less what it deleted
    # The server's objects that count towards the limit.
    in_scope: list[ApiObject] = dataclasses.field(default_factory=list)
    plan: RotationPlan | None = None          # the rotation plan, when an object is to be created
    deleted: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    changed: bool = False
    created: bool = False
    reused: bool = False
    deleted_before_create: bool | None = None
    # A create in doubt found several objects with its key: which one it made cannot be told.
    own_unknown: bool = False
    failure: dict[str, Any] | None = None     # {"msg": ..., and extra result fields}

    @property
    def alive(self) -> bool:
        return self.failure is None

    @property
    def seen_completed(self) -> bool:
        """Whether the latest listing holds this target's object, completed."""
        return any(o.get("id") == self.obj.get("id") and o.get("status") == COMPLETED for o in self.view or ())


class ResourceModule(VpsorgModule):
    """present/absent for a keyed resource; a subclass sets ``kind`` and its hooks."""

    kind: Kind = None  # type: ignore[assignment]  # a kinds.Kind, set by each subclass
    _lookup: Lookup | None = None
    pace: Pace | None = None  # when this task's operations should end (client.Pace), made by start_creates

    # -------------------------------------------------------- subclass hooks

    def create_body(self, server_id: int) -> dict[str, Any]:
        raise NotImplementedError

    def drift_warnings(self, existing: ApiObject) -> list[str]:
        """Warnings for an existing object that differs in what the API cannot change."""
        return []

    def key_required(self) -> bool:
        """Whether a state needs the key (or the id) to name its object; pruning (absent with rotate) names none."""
        return self.params["state"] == "absent" and not self.params.get("rotate")

    # -------------------------------------------------------------- helpers

    @property
    def key(self) -> str | None:
        return self.params.get(self.kind.key_field)

    @property
    def lookup(self) -> Lookup:
        """The task's one Lookup: it remembers how lists read best (account-wide, or server by server)."""
        if self._lookup is None:
            self._lookup = Lookup(self.client, self.kind)
        return self._lookup

    @property
    def fleet(self) -> bool:
        """True when the task names its servers with server_ids: results then come per server."""
        return self.params.get("server_ids") is not None

    def server_list(self) -> list[int]:
        if self.fleet:
            return list(dict.fromkeys(self.params["server_ids"]))
        return [self.params["server_id"]]

    def read(self, targets: list[Target]) -> None:
        """Refresh each target's ``view``, every object of its server: one listing whatever the number of servers.

        (When an account-wide listing does not settle, one listing per server: see Lookup.on_servers.)
        """
        if len(targets) == 1:
            targets[0].view = self.lookup.on_server(targets[0].server_id)
            return
        by_server = self.lookup.on_servers([t.server_id for t in targets])
        for target in targets:
            target.view = by_server[target.server_id]

    def forget(self, target: Target, obj: ApiObject) -> None:
        """This task deleted ``obj`` (or found it gone): it no longer counts in the target's view."""
        if target.view is not None:
            target.view = [o for o in target.view if o.get("id") != obj.get("id")]

    def failed(self, target: Target, msg: str, error: VpsorgApiError | None = None, **extra: Any) -> None:
        """A target failed: it takes no further part, the others go on, and :meth:`report` fails the task.

        A one-server task is a fleet of one: nothing more is sent for its
        failed target, so its result is the one an immediate exit would give.
        """
        if error is not None:
            extra["api_error"] = error.to_dict()
        target.failure = dict(extra, msg=msg)

    def record_deleted(self, target: Target, objects: Iterable[ApiObject],
                       reasons: dict[Any, str] | None = None) -> None:
        target.deleted += [summary(o, self.kind.key_field, (reasons or {}).get(o.get("id"))) for o in objects]

    def count_delete(self, target: Target, obj: ApiObject, outcome: str, reasons: dict[Any, str] | None = None) -> bool:
        """Record what one DELETE of ``obj`` (seen before it was sent) came to; True when it counts as this task's.

        A 404 on the first answer means someone else deleted it. A 404 on a
        retry after a lost answer means this task's first DELETE was carried
        out: it is this task's deletion, with a note.
        """
        if outcome == ALREADY_GONE:
            return False
        target.changed = True
        self.record_deleted(target, [obj], reasons)
        if outcome == DELETED_ANSWER_LOST:
            target.deleted[-1]["note"] = LOST_ANSWER_NOTE
            self.warn(f"{self.kind.name.capitalize()} {obj.get('id')} on server {target.server_id}: "
                      f"{LOST_ANSWER_NOTE}.")
        return True

    # ------------------------------------------------------------ main flow

    def run(self) -> None:
        if not self.fleet:
            # Present in every result, failures included.
            self.result[self.kind.name] = None
            self.result["deleted_" + self.kind.plural] = []
        if self.params["state"] == "absent":
            self.ensure_absent()
        else:
            self.ensure_present()

    def validate(self) -> None:
        super(ResourceModule, self).validate()
        self.now = time.time()
        params, kind = self.params, self.kind
        for server_id in params.get("server_ids") or []:
            self.check_id("server_ids", server_id, "server_ids must hold server ids (integers of 1 or more)")
        if params.get("server_ids") is not None and not params["server_ids"]:
            self.fail("server_ids is empty: name at least one server.")
        servers_given = params["server_id"] is not None or params.get("server_ids") is not None
        if params[kind.id_option] is None and (not servers_given or (self.key is None and self.key_required())):
            needed = f"server_id and {kind.key_field}" if self.key_required() else "server_id"
            self.fail(f"state={params['state']} needs {needed}, or {kind.id_option}.")
        self.validate_retention()

    def validate_retention(self) -> None:
        """Check rotate and reuse_within, and turn their durations into seconds."""
        params, kind = self.params, self.kind
        rotate = params.get("rotate")
        self.max_age = self.reuse_within = None
        self.warned_ageless: set[Any] = set()
        self.warned_held: set[Any] = set()
        if rotate:
            if not rotate["prefix"]:
                self.fail(f"rotate.prefix must not be empty: an empty prefix would match every {kind.name} "
                          "of the server.")
            if rotate["keep"] is None and rotate["max_age"] is None:
                self.fail(f"rotate needs keep, max_age or both: say how many {kind.plural} with prefix "
                          f"{rotate['prefix']!r} to keep, or how old they may get.")
            if rotate["keep"] is not None and not 1 <= rotate["keep"] <= kind.limit:
                self.fail(f"rotate.keep must be between 1 and {kind.limit} (the API keeps at most {kind.limit} "
                          f"{kind.limit_label} per server), got {rotate['keep']}.")
            if rotate["max_age"] is not None:
                self.max_age = self.duration("rotate.max_age", rotate["max_age"])
            if params["state"] == "absent" and (self.key is not None or params[kind.id_option] is not None):
                self.fail(f"state=absent with rotate prunes the {kind.plural} of a server by prefix; it takes "
                          f"server_id only, not {kind.key_field} or {kind.id_option}. To delete one {kind.name}, leave "
                          "rotate out.")
        if params.get("reuse_within") is not None:
            if params["state"] == "absent":
                self.fail(f"reuse_within only applies to state=present, where it reuses a recent {kind.name} instead "
                          "of creating one; state=absent creates nothing, so leave reuse_within out.")
            if not rotate:
                self.fail(f"reuse_within needs rotate.prefix: the prefix names the {kind.plural} that may be reused.")
            self.reuse_within = self.duration("reuse_within", params["reuse_within"])

    def duration(self, option: str, text: str) -> int:
        try:
            return parse_duration(text)
        except ValueError as exc:
            self.fail(f"{option}: {exc}.")

    # ------------------------------------------------------------ present

    def ensure_present(self) -> None:
        self.start_deadline(self.params["wait_timeout"])
        if self.params[self.kind.id_option] is not None:
            return self.present_by_id()
        targets = [Target(server_id) for server_id in self.server_list()]
        self.read(targets)
        for target in targets:
            self.decide(target, target.view)
        to_create = [t for t in targets if t.alive and t.plan is not None]
        if self.check_mode:
            for target in to_create:
                if self.server_exists(target):
                    self.plan_create(target)
        else:
            self.start_creates(to_create)
            self.converge([t for t in to_create if t.alive and t.created])
        # In check mode a planned object exists only on paper: nothing to wait for, nothing to rotate around.
        real = [t for t in targets if t.obj is not None and not (self.check_mode and t.plan is not None)]
        self.settle([t for t in real if t.alive])
        self.rotate_after([t for t in real if t.alive])
        self.report(targets)

    def present_by_id(self) -> None:
        params, kind = self.params, self.kind
        target = Target(params["server_id"])
        target.obj = self.lookup.by_id(params[kind.id_option], params["server_id"])
        if target.obj is None:
            self.fail("%s %s does not exist%s; %s cannot create an object with a chosen id."
                      % (kind.name.capitalize(), params[kind.id_option],
                         " on server %s" % params["server_id"] if params["server_id"] else "", kind.id_option))
        target.server_id = server_id_of(target.obj)
        self.settle([target])
        self.report([target])

    def decide(self, target: Target, objects: list[ApiObject]) -> None:
        """What the target needs: its existing object, a recent one to reuse, or a create (with a plan)."""
        matches = self.lookup.keyed(objects, self.key) if self.key is not None else []
        if len(matches) > 1:
            return self.failed(target, self.ambiguity(target, matches))
        if matches:
            for warning in self.drift_warnings(matches[0]):
                self.warn(warning)
            target.obj = matches[0]
            return None
        target.in_scope = [o for o in objects if self.kind.in_scope(o)]
        if self.reuse_within is not None:
            target.obj = newest_reusable(target.in_scope, self.kind.key_field, self.params["rotate"]["prefix"],
                                         self.reuse_within, self.now)
            target.reused = target.obj is not None
            if target.reused:
                return None
        plan = self.plan(target.in_scope, self.key)
        if plan.blockers:
            return self.fail_limit(target, plan.blockers)
        target.plan = plan
        return None

    def plan(self, others: list[ApiObject], new_key: str | None) -> RotationPlan:
        """The rotation plan around ``new_key`` (None when nothing is created), with age warnings said once."""
        rotate = self.params.get("rotate") or {}
        plan = plan_rotation(others, self.kind.key_field, self.kind.limit, new_key, rotate.get("prefix"),
                             rotate.get("keep"), self.max_age, self.now, rotate.get("max_age"))
        for obj in plan.ageless:
            if obj.get("id") in self.warned_ageless:
                continue
            self.warned_ageless.add(obj.get("id"))
            self.warn(f"{self.kind.name.capitalize()} {obj.get('id')} has a created_at of {obj.get('created_at')!r}, "
                      "in the future or unreadable against this controller's clock (UTC), so max_age never deletes "
                      "it; check the clocks.")
        for obj in plan.held:
            if obj.get("id") in self.warned_held:
                continue
            self.warned_held.add(obj.get("id"))
            self.warn(f"{self.kind.name.capitalize()} {obj.get('id')} ({obj.get(self.kind.key_field)}) is held "
                      f"{hold_seconds(obj)} s from its creation ({obj.get('created_at')}), as its description says; "
                      "rotation leaves it until the hold runs out.")
        return plan

    def server_exists(self, target: Target) -> bool:
        """Check mode: whether the server a create would go to exists, as the real run would find out.

        Any object in the server's listing proves it; otherwise one read of
        the server. A server that does not exist fails its target.
        """
        if target.view:
            return True
        try:
            Servers(self.client).get(target.server_id)
        except VpsorgApiError as exc:
            if not exc.missing:
                raise
            self.failed(target, f"{exc.message} Nothing would be created.", exc)
            return False
        return True

    def plan_create(self, target: Target) -> None:
        """Check mode: what the create would be, and what rotation would delete around it."""
        target.obj = dict(self.create_body(target.server_id), status="in_progress")
        target.changed = True
        target.deleted_before_create = deletes_needed_first(target.in_scope, self.kind.limit) > 0
        self.record_deleted(target, target.plan.victims, target.plan.reasons)

    def start_creates(self, targets: list[Target]) -> None:
        """Start every target's create, up to api_concurrency of them at once.

        Each create touches only its own target (its deletions before the
        create, its POST, the look at its server when the answer was lost),
        so the creates of a fleet run side by side; the client's gate keeps
        the requests in flight within api_concurrency, fewer after a 429.
        Results keep the order of the servers given.
        """
        # The task's one Pace, made before the threads that record their starts in it.
        self.pace = Pace()
        workers = min(len(targets), getattr(self.client, "concurrency", 1))
        if workers <= 1:
            for target in targets:
                self.start_create(target)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            started = [pool.submit(self.start_create, target) for target in targets]
        for future in started:
            # An error that start_create does not turn into the target's failure fails the task, as in turn.
            future.result()

    def start_create(self, target: Target) -> None:
        """Create the target's object; rotation deletes before it only what the limit forces."""
        forced = deletes_needed_first(target.in_scope, self.kind.limit)
        target.deleted_before_create = False
        if forced:
            # No room under the limit: the oldest victims must go first, and
            # the result says so, since for a while there is one restore
            # point less.
            self.delete_victims(target, target.plan.victims[:forced], target.plan.reasons)
            target.deleted_before_create = True
        try:
            target.obj = self.create(target)
        except VpsorgApiError as exc:
            return self.failed(target, self.create_failure(target, exc), exc)
        target.created = target.changed = True
        self.pace.start(target.server_id)
        return None

    def create_failure(self, target: Target, exc: VpsorgApiError) -> str:
        """The message for a create the API refused; a 404 means the server (the one thing it names) is missing."""
        if exc.missing:
            return (f"Server {target.server_id} does not exist, or this API token cannot see it: {exc.message} "
                    "Nothing was created.")
        return exc.message

    def create(self, target: Target) -> ApiObject:
        """POST the object once; a lost answer is reconciled by looking the key up."""
        server_id = target.server_id
        if self.key is None:
            created = self.create_without_key(server_id)
        else:
            created = self.client.post_once(self.kind.path, self.create_body(server_id),
                                            lambda: self.find_created(target))
        if isinstance(created, dict) and created.get("id") is not None:
            return created
        # Inferred: the create answer is the new object; if it is not, find it.
        found = self.find_created(target)
        if found is None:
            raise UnreadableAnswerError(f"The API accepted the {self.kind.name} but its answer holds no id: {created!r}")
        return found

    def create_without_key(self, server_id: int) -> Any:
        """Without a key a lost answer cannot be reconciled, so it is reported, never sent again."""
        try:
            return self.client.post(self.kind.path, self.create_body(server_id))
        except VpsorgApiError as exc:
            if exc.maybe_committed:
                # The same kind of error (its class), with what the caller must do about it.
                raise type(exc)(
                    f"{exc.message} The create may or may not have happened and, without a {self.kind.key_field}, it "
                    f"cannot be told apart from other {self.kind.plural}; list them with the info module before "
                    "running again.",
                    method=exc.method, path=exc.path, status=exc.status, maybe_committed=True)
            raise

    def find_created(self, target: Target) -> ApiObject | None:
        """After a create in doubt, the object it made, if any (None: sending it again is safe).

        The task saw no object with its key before its POST, so every match
        now is new: its own, or a racing task's. One match is taken as its
        own. Several cannot be told apart (the API records nothing of who
        made an object): the target is marked, and converge then keeps the
        oldest and removes the others, so no duplicate is left behind.
        """
        if self.key is None:
            return None
        matches = self.lookup.keyed(self.lookup.on_server(target.server_id), self.key)
        if not matches:
            return None
        target.own_unknown = len(matches) > 1
        return survivor(matches)

    def converge(self, created: list[Target]) -> None:
        """After creating, make a same-key race end with one object per server: the oldest.

        Two tasks that create the same key at once both POST. Each looks again
        after its own create; the one whose object is not the oldest deletes
        it and carries on with the oldest, so both succeed and later runs find
        exactly one.
        """
        if self.key is None or not created:
            return
        self.read(created)
        for target in created:
            matches = self.lookup.keyed(target.view, self.key)
            if target.own_unknown:
                self.keep_oldest_of_unknown(target, matches)
                continue
            own = next((m for m in matches if m.get("id") == target.obj.get("id")), None)
            if own is None:
                if matches:
                    self.adopt_survivor(target, matches)
                continue
            # The fresher sighting: an operation that is quick may already be completed.
            target.obj = own
            if len(matches) < 2:
                continue
            kept = survivor(matches)
            if kept.get("id") == target.obj.get("id"):
                continue
            self.remove_duplicate(target, target.obj)
            self.warn(f"Another task created {self.kind.name} {self.key!r} on server {target.server_id} at the same "
                      f"time; this task removed its own copy (id {target.obj['id']}) and uses id {kept['id']}.")
            # This task's own create was undone; only its deletions (if any) remain a change.
            target.obj, target.created, target.changed = kept, False, bool(target.deleted)

    def adopt_survivor(self, target: Target, matches: list[ApiObject]) -> None:
        """This task's object is gone from the listing while others have its key: a racing task removed it."""
        kept = survivor(matches)
        self.warn(f"Another task created {self.kind.name} {self.key!r} on server {target.server_id} at the same time "
                  f"and removed this task's copy (id {target.obj.get('id')}); this task uses id {kept.get('id')}.")
        target.obj, target.created, target.changed = kept, False, bool(target.deleted)

    def keep_oldest_of_unknown(self, target: Target, matches: list[ApiObject]) -> None:
        """A create in doubt found several objects with its key: keep the oldest, remove the others, say so.

        The oldest is the one every racing task keeps; each other match is
        this task's or a racer's that its maker deletes too, so removing them
        here leaves one object whichever it was.
        """
        if not matches:
            return
        kept = survivor(matches)
        others = [m for m in matches if m.get("id") != kept.get("id")]
        for duplicate in others:
            self.remove_duplicate(target, duplicate)
        target.obj = kept
        if others:
            self.warn("The answer to this task's create of %s %r on server %s was lost, and %d %s with that %s "
                      "appeared meanwhile (ids %s), made by this task and tasks racing it; which one is this task's "
                      "cannot be told, so it keeps the oldest (id %s) and removed the others (ids %s)."
                      % (self.kind.name, self.key, target.server_id, len(matches), self.kind.plural,
                         self.kind.key_field, ", ".join(str(m.get("id")) for m in newest_first(matches)[::-1]),
                         kept.get("id"), ", ".join(str(m.get("id")) for m in others)))

    def remove_duplicate(self, target: Target, duplicate: ApiObject) -> None:
        """Delete a same-key duplicate; if the API refuses while it is in progress, once it is done."""
        self.forget(target, duplicate)
        try:
            self.lookup.delete(duplicate["id"])
        except VpsorgApiError as exc:
            # Inferred: the API may refuse to delete an object still in progress.
            if exc.status is None or exc.status >= 500 or exc.status == 404:
                raise
            waiting = Target(target.server_id)
            waiting.obj = duplicate
            self.wait_all([waiting])
            if waiting.failure and not self.fleet:
                # A one-server task has always ended on this wait's failure; a fleet goes on to the DELETE.
                self.report_one(waiting)
            self.lookup.delete(duplicate["id"])

    def settle(self, targets: list[Target]) -> None:
        """Wait (if asked) until every target's object is completed; a failed one fails its target."""
        if self.params["wait"]:
            self.wait_all([t for t in targets if not is_settled(t.obj)])
        for target in targets:
            if target.alive and target.obj.get("status") in FAILED_STATUSES:
                self.failed(target, f"{self.kind.name.capitalize()} {target.obj.get('id')} ended with status "
                            f"{target.obj.get('status')!r}; delete it with state=absent and "
                            f"{self.kind.id_option}={target.obj.get('id')} before trying again.")

    def wait_all(self, waiting: Iterable[Target]) -> None:
        """One wait for many objects: each poll is one listing that serves every target still waiting."""
        pending = list(waiting)
        if not pending:
            return
        # Objects this task did not create (found in progress) have no start: the pace says nothing of them.
        pace = self.pace if self.pace is not None else Pace()

        def poll() -> list[Target]:
            self.read(pending)
            for target in list(pending):
                found = next((o for o in target.view if o.get("id") == target.obj.get("id")), None)
                if found is None:
                    pending.remove(target)
                    self.failed(target, f"{self.kind.name.capitalize()} {target.obj.get('id')} disappeared "
                                "while waiting for it.")
                    continue
                target.obj = found
                if is_settled(found):
                    pending.remove(target)
                    pace.ended(target.server_id)
            return pending

        what = (f"{self.kind.name} {pending[0].obj.get('id')}" if len(pending) == 1
                else f"{len(pending)} {self.kind.plural}")
        try:
            self.client.wait_for(poll, lambda still: not still, self.deadline, what,
                                 due=lambda: pace.due([t.server_id for t in pending]))
        except VpsorgApiError as exc:
            for target in list(pending):
                self.failed(target, "Timed out after %d s waiting for %s %s (last status: %s). It keeps going on the "
                            "API side: wait again by running the task again, or delete it with state=absent and "
                            "%s=%s." % (self.deadline.seconds, self.kind.name, target.obj.get("id"),
                                        target.obj.get("status"), self.kind.id_option, target.obj.get("id")), exc)

    # ------------------------------------------------------------ rotation

    def rotate_after(self, targets: list[Target]) -> None:
        """Apply rotation around each target's object once it is completed; never before.

        Deleting an old restore point before its replacement is complete
        would cost one if the replacement fails. Without a wait the new object
        is still in progress, so rotation waits for a later run.
        """
        if not self.params.get("rotate"):
            return
        ready = []
        for target in targets:
            if target.obj.get("status") == COMPLETED:
                ready.append(target)
            else:
                self.warn(f"{self.kind.name.capitalize()} {target.obj.get('id')} is still "
                          f"{target.obj.get('status')!r}, so rotation deleted nothing yet; a later run with the same "
                          "options deletes the oldest once it is completed.")
        # The listing that showed an object completed is as fresh as another
        # read would be; only an object seen completed elsewhere needs one.
        stale = [t for t in ready if not t.seen_completed]
        if stale:
            self.read(stale)
        for target in ready:
            others = [o for o in target.view if self.kind.in_scope(o) and o.get("id") != target.obj.get("id")]
            self.apply_plan(target, self.plan(others, target.obj.get(self.kind.key_field)))

    def apply_plan(self, target: Target, plan: RotationPlan) -> None:
        """Delete the plan's victims now (in check mode, only report them)."""
        if plan.victims and self.check_mode:
            target.changed = True
            self.record_deleted(target, plan.victims, plan.reasons)
            return
        self.delete_victims(target, plan.victims, plan.reasons)

    def delete_victims(self, target: Target, victims: Iterable[ApiObject], reasons: dict[Any, str]) -> None:
        for victim in victims:
            self.forget(target, victim)
            self.count_delete(target, victim, self.lookup.delete(victim["id"]), reasons)

    def ambiguity(self, target: Target, matches: list[ApiObject]) -> str:
        kind = self.kind
        return ("%d %s on server %s have %s %r: %s. Name the one you mean with %s."
                % (len(matches), kind.plural, target.server_id, kind.key_field, self.key,
                   ", ".join(describe(o, kind.key_field) for o in newest_first(matches)), kind.id_option))

    def fail_limit(self, target: Target, blockers: list[ApiObject]) -> None:
        kind = self.kind
        listing = ", ".join(describe(o, kind.key_field) for o in newest_first(blockers))
        how = (f"delete one with state=absent and {kind.id_option}, or set rotate (prefix and keep) so the oldest "
               f"{kind.limit_label} with that prefix are replaced")
        if self.params.get("rotate"):
            how = (f"rotation can only delete {kind.limit_label} whose {kind.key_field} starts with rotate.prefix (and "
                   f"only completed ones); delete one of these with state=absent and {kind.id_option}")
        self.failed(target, f"Server {target.server_id} already has {len(blockers)} {kind.limit_label}, the most the "
                    f"API allows: {listing}. To make room, {how}. Nothing was changed.",
                    blocking_objects=[summary(o, kind.key_field) for o in newest_first(blockers)])

    # ------------------------------------------------------------ absent

    def ensure_absent(self) -> None:
        params, kind = self.params, self.kind
        if params[kind.id_option] is not None:
            return self.absent_by_id()
        targets = [Target(server_id) for server_id in self.server_list()]
        self.read(targets)
        for target in targets:
            objects = [o for o in target.view if kind.in_scope(o)]
            if params.get("rotate"):
                self.prune(target, objects)
                continue
            matches = self.lookup.keyed(objects, self.key)
            if len(matches) > 1:
                self.failed(target, self.ambiguity(target, matches))
            elif matches:
                self.delete_one(target, matches[0])
        self.report(targets)

    def prune(self, target: Target, objects: list[ApiObject]) -> None:
        """state=absent with rotate: apply keep and max_age to one server, creating nothing."""
        plan = self.plan(objects, None)
        self.apply_plan(target, plan)
        if target.changed and not self.fleet:
            gone = set(o.get("id") for o in plan.victims)
            self.changed(before={self.kind.plural: self.keys_of(objects)},
                         after={self.kind.plural: self.keys_of(o for o in objects if o.get("id") not in gone)})

    def keys_of(self, objects: Iterable[ApiObject]) -> list[str]:
        return sorted(str(o.get(self.kind.key_field)) for o in objects)

    def absent_by_id(self) -> None:
        """Delete by id: a DELETE and nothing else, unless a look is needed.

        The look happens only when check mode or diff must show the object, or
        a server_id guard must be checked, and then it lists that server only
        (the whole account only to explain an object found elsewhere).
        """
        params, kind = self.params, self.kind
        object_id, guard = params[kind.id_option], params["server_id"]
        target = Target(guard)
        if not (self.check_mode or self.module._diff or guard):
            # Named by id and just deleted: a delete whose first answer was lost counts too.
            self.count_delete(target, {"id": object_id}, self.lookup.delete(object_id))
            target.deleted = [dict((k, v) for k, v in d.items() if v is not None) for d in target.deleted]
            return self.report([target])
        found = self.lookup.by_id(object_id, guard)
        if found is None and guard:
            elsewhere = self.lookup.by_id(object_id)
            if elsewhere is not None:
                self.fail(f"{kind.name.capitalize()} {object_id} belongs to server {server_id_of(elsewhere)}, "
                          f"not to server {guard}; nothing was deleted.")
        if found is not None:
            self.delete_one(target, found)
        return self.report([target])

    def delete_one(self, target: Target, obj: ApiObject) -> None:
        target.obj = obj
        if self.check_mode:
            target.changed = True
            self.record_deleted(target, [obj])
        elif not self.count_delete(target, obj, self.lookup.delete(obj["id"])):
            return  # someone else deleted it between our look and our DELETE
        if not self.fleet:
            self.changed(before=obj, after={})

    # ------------------------------------------------------------ results

    def report(self, targets: list[Target]) -> None:
        """The task's result: today's fields for one server; ``results`` per server for server_ids."""
        if not self.fleet:
            return self.report_one(targets[0])
        results = []
        for target in targets:
            entry = {"server_id": target.server_id, self.kind.name: target.obj, "changed": target.changed,
                     "deleted_" + self.kind.plural: target.deleted}
            for name in ("deleted_before_create", "reused"):
                if getattr(target, name):
                    entry[name] = getattr(target, name)
            if target.failure:
                entry.update(target.failure, failed=True)
            results.append(entry)
        self.result["results"] = results
        if self._lookup is not None and self._lookup.choices:
            self.result["list_reads"] = self._lookup.choices
        self.result["changed"] = any(t.changed for t in targets)
        if self.result["changed"]:
            self.changed(before={}, after=dict((str(t.server_id), t.obj) for t in targets if t.changed))
        failures = [t for t in targets if t.failure]
        if failures:
            self.fail("%d of %d servers failed: %s" % (len(failures), len(targets), "; ".join(
                "server %s: %s" % (t.server_id, t.failure["msg"]) for t in failures)))
        return None

    def report_one(self, target: Target) -> None:
        """A one-server task's result: its target's fields at the top level; a failed target fails the task."""
        self.fill_result(target)
        if target.failure:
            extra = dict(target.failure)
            self.fail(extra.pop("msg"), **extra)

    def fill_result(self, target: Target) -> None:
        """One server's result in the top-level fields (``snapshot``, ``deleted_snapshots``, ...)."""
        self.result[self.kind.name] = target.obj
        self.result["deleted_" + self.kind.plural] = target.deleted
        if target.deleted_before_create is not None:
            self.result["deleted_before_create"] = target.deleted_before_create
        if target.reused:
            self.result["reused"] = True
        if target.changed:
            self.result["changed"] = True
            if self.before is not None or self.after is not None:
                return
            if target.created or target.plan is not None and self.check_mode:
                self.changed(before={}, after=target.obj)
            else:
                # Only rotation deleted something: the diff shows what went.
                self.changed(before={self.kind.plural: target.deleted}, after={self.kind.plural: []})


class ResourceInfoModule(VpsorgModule):
    """Read-only listing of one kind, every page read, newest first."""

    kind: Kind = None  # type: ignore[assignment]  # set by each subclass
    filters: tuple[tuple[str, str], ...] = ()  # option names compared with the object's field of the same name

    def run(self) -> None:
        params = self.params
        objects = Lookup(self.client, self.kind).everywhere(self.list_params())
        if params.get("server_id") is not None:
            objects = [o for o in objects if server_id_of(o) == params["server_id"]]
        self.result[self.kind.plural] = newest_first(self.select(objects))

    def list_params(self) -> dict[str, Any]:
        return {"server_id": self.params.get("server_id")}

    def select(self, objects: list[ApiObject]) -> list[ApiObject]:
        for option, field in self.filters:
            if self.params.get(option) is not None:
                objects = [o for o in objects if o.get(field) == self.params[option]]
        return objects
