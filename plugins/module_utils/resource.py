# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One engine for keyed, limited, rotatable resources: snapshots and manual backups.

A snapshot is keyed by (server, name) with at most 5 per server; a manual
backup by (server, description) with at most 10 manual ones per server. The
rules around them (idempotent create, rotation, limit errors, reconciliation
of a lost create, a same-key race, waiting, absent) are the same, so they
live here once and the two modules only declare their :class:`Kind`.
"""

from __future__ import annotations

import time

from ansible_collections.vpsorg.cloud.plugins.module_utils.base import (
    VpsorgModule,
    created_key,
    newest_first,
    server_id_of,
)
from ansible_collections.vpsorg.cloud.plugins.module_utils.client import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import Lookup
from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import (
    COMPLETED,
    deletes_needed_first,
    newest_reusable,
    parse_duration,
    plan_rotation,
)

# Inferred: only "in_progress" and "completed" are documented. Any status we do
# not know is treated as still working, so an unknown transient state never
# fails a task early; these are the ones that end a wait as a failure.
FAILED_STATUSES = ("failed", "error", "cancelled", "canceled")


def is_settled(obj):
    return obj.get("status") == COMPLETED or obj.get("status") in FAILED_STATUSES


def survivor(matches):
    """Of objects racing for one key, the one every racing task keeps: the oldest."""
    return min(matches, key=created_key)


def resource_argument_spec(id_option, wait_timeout, **own):
    """The options every keyed resource module takes, plus its ``own``."""
    spec = dict(
        server_id=dict(type="int"),
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


def describe(obj, key_field):
    return "%s (id %s, created %s, %s)" % (
        obj.get(key_field) or "<no %s>" % key_field, obj.get("id"), obj.get("created_at"), obj.get("status"))


def summary(obj, key_field, reason=None):
    """The few fields a message or a deleted-list needs (and, for rotation, why it goes)."""
    fields = {
        "id": obj.get("id"),
        key_field: obj.get(key_field),
        "created_at": obj.get("created_at"),
        "status": obj.get("status"),
    }
    if reason:
        fields["reason"] = reason
    return fields


class ResourceModule(VpsorgModule):
    """present/absent for a keyed resource; a subclass sets ``kind`` and its hooks."""

    kind = None  # a kinds.Kind

    # -------------------------------------------------------- subclass hooks

    def create_body(self):
        raise NotImplementedError

    def drift_warnings(self, existing):
        """Warnings for an existing object that differs in what the API cannot change."""
        return []

    def key_required(self):
        """Whether a state needs the key (or the id) to name its object; pruning (absent with rotate) names none."""
        return self.params["state"] == "absent" and not self.params.get("rotate")

    # -------------------------------------------------------------- helpers

    @property
    def key(self):
        return self.params.get(self.kind.key_field)

    @property
    def lookup(self):
        return Lookup(self.client, self.kind)

    def record_deleted(self, objects, reasons=None):
        self.result["deleted_" + self.kind.plural] += [
            summary(o, self.kind.key_field, (reasons or {}).get(o.get("id"))) for o in objects]

    def fail_ambiguous(self, matches):
        kind = self.kind
        self.fail("%d %s on server %s have %s %r: %s. Name the one you mean with %s."
                  % (len(matches), kind.plural, self.params["server_id"], kind.key_field, self.key,
                     ", ".join(describe(o, kind.key_field) for o in newest_first(matches)), kind.id_option))

    def the_keyed(self, objects):
        """The one object the key names among ``objects``, or None; fails when several do."""
        if self.key is None:
            return None
        matches = self.lookup.keyed(objects, self.key)
        if len(matches) > 1:
            self.fail_ambiguous(matches)
        return matches[0] if matches else None

    # ------------------------------------------------------------ main flow

    def run(self):
        self.result[self.kind.name] = None
        self.result["deleted_" + self.kind.plural] = []
        if self.params["state"] == "absent":
            self.ensure_absent()
        else:
            self.ensure_present()

    def validate(self):
        super(ResourceModule, self).validate()
        self.now = time.time()
        params, kind = self.params, self.kind
        if params[kind.id_option] is None and (params["server_id"] is None or (self.key is None and self.key_required())):
            needed = "server_id and %s" % kind.key_field if self.key_required() else "server_id"
            self.fail("state=%s needs %s, or %s." % (params["state"], needed, kind.id_option))
        self.validate_retention()

    def validate_retention(self):
        """Check rotate and reuse_within, and turn their durations into seconds."""
        params, kind = self.params, self.kind
        rotate = params.get("rotate")
        self.max_age = self.reuse_within = None
        self.warned_ageless = set()
        if rotate:
            if not rotate["prefix"]:
                self.fail("rotate.prefix must not be empty: an empty prefix would match every %s of the server."
                          % kind.name)
            if rotate["keep"] is None and rotate["max_age"] is None:
                self.fail("rotate needs keep, max_age or both: say how many %s with prefix %r to keep, or how old "
                          "they may get." % (kind.plural, rotate["prefix"]))
            if rotate["keep"] is not None and not 1 <= rotate["keep"] <= kind.limit:
                self.fail("rotate.keep must be between 1 and %s (the API keeps at most %s %s per server), got %s."
                          % (kind.limit, kind.limit, kind.limit_label, rotate["keep"]))
            if rotate["max_age"] is not None:
                self.max_age = self.duration("rotate.max_age", rotate["max_age"])
            if params["state"] == "absent" and (self.key is not None or params[kind.id_option] is not None):
                self.fail("state=absent with rotate prunes the %s of a server by prefix; it takes server_id only, not "
                          "%s or %s. To delete one %s, leave rotate out." % (kind.plural, kind.key_field,
                                                                            kind.id_option, kind.name))
        if params.get("reuse_within") is not None:
            if not rotate:
                self.fail("reuse_within needs rotate.prefix: the prefix names the %s that may be reused." % kind.plural)
            self.reuse_within = self.duration("reuse_within", params["reuse_within"])

    def duration(self, option, text):
        try:
            return parse_duration(text)
        except ValueError as exc:
            self.fail("%s: %s." % (option, exc))

    def ensure_present(self):
        params = self.params
        self.start_deadline(params["wait_timeout"])
        if params[self.kind.id_option] is not None:
            return self.settle(self.existing_by_id())
        objects = self.lookup.on_server(params["server_id"])
        existing = self.the_keyed(objects)
        if existing is not None:
            for warning in self.drift_warnings(existing):
                self.warn(warning)
            settled = self.settle(existing)
            self.rotate_after(settled)
            return settled
        in_scope = [o for o in objects if self.kind.in_scope(o)]
        reused = self.reusable(in_scope)
        if reused is not None:
            settled = self.settle(reused)
            self.rotate_after(settled)
            return settled
        return self.create_with_rotation(in_scope)

    def reusable(self, in_scope):
        """With reuse_within: the newest completed object of the prefix, if recent enough."""
        if self.reuse_within is None:
            return None
        reused = newest_reusable(in_scope, self.kind.key_field, self.params["rotate"]["prefix"], self.reuse_within,
                                 self.now)
        if reused is not None:
            self.result["reused"] = True
        return reused

    def plan(self, others, new_key):
        """The rotation plan around ``new_key`` (None when nothing is created), with age warnings said once."""
        rotate = self.params.get("rotate") or {}
        plan = plan_rotation(others, self.kind.key_field, self.kind.limit, new_key, rotate.get("prefix"),
                             rotate.get("keep"), self.max_age, self.now, rotate.get("max_age"))
        for obj in plan.ageless:
            if obj.get("id") in self.warned_ageless:
                continue
            self.warned_ageless.add(obj.get("id"))
            self.warn("%s %s has a created_at of %r, in the future or unreadable against this controller's clock "
                      "(UTC), so max_age never deletes it; check the clocks." % (
                          self.kind.name.capitalize(), obj.get("id"), obj.get("created_at")))
        return plan

    def existing_by_id(self):
        params, kind = self.params, self.kind
        existing = self.lookup.by_id(params[kind.id_option], params["server_id"])
        if existing is None:
            self.fail("%s %s does not exist%s; %s cannot create an object with a chosen id."
                      % (kind.name.capitalize(), params[kind.id_option],
                         " on server %s" % params["server_id"] if params["server_id"] else "", kind.id_option))
        return existing

    def create_with_rotation(self, in_scope):
        """Create the keyed object; rotation deletes before it only what the limit forces."""
        plan = self.plan(in_scope, self.key)
        if plan.blockers:
            self.fail_limit(plan.blockers, bool(self.params.get("rotate")))
        forced = deletes_needed_first(in_scope, self.kind.limit)
        planned = dict(self.create_body(), status="in_progress")
        if self.check_mode:
            self.changed(before={}, after=planned)
            self.result[self.kind.name] = planned
            self.result["deleted_before_create"] = forced > 0
            self.record_deleted(plan.victims, plan.reasons)
            return None
        self.result["deleted_before_create"] = False
        if forced:
            # No room under the limit: the oldest victims must go first, and
            # the result says so, since for a while there is one restore
            # point less.
            self.delete_victims(plan.victims[:forced], plan.reasons)
            self.result["deleted_before_create"] = True
        created = self.create()
        self.changed(before={}, after=created)
        settled = self.settle(self.converge(created))
        self.rotate_after(settled)
        return settled

    def delete_victims(self, victims, reasons):
        for victim in victims:
            if self.lookup.delete(victim["id"]):
                self.result["changed"] = True
                self.record_deleted([victim], reasons)

    def rotate_after(self, kept):
        """Apply rotation around ``kept`` once it is completed; never before.

        Deleting an old restore point before its replacement is complete
        would cost one if the replacement fails. Without a wait the new object
        is still in progress, so rotation waits for a later run.
        """
        rotate = self.params.get("rotate")
        if not rotate:
            return
        if kept.get("status") != COMPLETED:
            self.warn("%s %s is still %r, so rotation deleted nothing yet; a later run with the same options "
                      "deletes the oldest once it is completed." % (self.kind.name.capitalize(), kept.get("id"),
                                                                    kept.get("status")))
            return
        others = [o for o in self.lookup.on_server(server_id_of(kept))
                  if self.kind.in_scope(o) and o.get("id") != kept.get("id")]
        self.apply_plan(self.plan(others, kept.get(self.kind.key_field)))

    def apply_plan(self, plan):
        """Delete the plan's victims now (in check mode, only report them)."""
        if plan.victims and self.check_mode:
            self.result["changed"] = True
            self.record_deleted(plan.victims, plan.reasons)
            return
        self.delete_victims(plan.victims, plan.reasons)

    def fail_limit(self, blockers, rotating):
        kind = self.kind
        listing = ", ".join(describe(o, kind.key_field) for o in newest_first(blockers))
        how = ("delete one with state=absent and %s, or set rotate (prefix and keep) so the oldest %s "
               "with that prefix are replaced" % (kind.id_option, kind.limit_label))
        if rotating:
            how = ("rotation can only delete %s whose %s starts with rotate.prefix (and only completed ones); "
                   "delete one of these with state=absent and %s" % (kind.limit_label, kind.key_field, kind.id_option))
        self.fail("Server %s already has %d %s, the most the API allows: %s. To make room, %s. Nothing was changed."
                  % (self.params["server_id"], len(blockers), kind.limit_label, listing, how),
                  blocking_objects=[summary(o, kind.key_field) for o in newest_first(blockers)])

    def create(self):
        """POST the object once; a lost answer is reconciled by looking the key up."""
        if self.key is None:
            created = self.create_without_key()
        else:
            created = self.client.post_once(self.kind.path, self.create_body(), self.find_created)
        if isinstance(created, dict) and created.get("id") is not None:
            return created
        # Inferred: the create answer is the new object; if it is not, find it.
        found = self.find_created()
        if found is None:
            self.fail("The API accepted the %s but its answer holds no id: %r" % (self.kind.name, created))
        return found

    def create_without_key(self):
        """Without a key a lost answer cannot be reconciled, so it is reported, never sent again."""
        try:
            return self.client.post(self.kind.path, self.create_body())
        except VpsorgApiError as exc:
            if exc.maybe_committed:
                self.fail_api(exc, msg="%s The create may or may not have happened and, without a %s, it cannot "
                              "be told apart from other %s; list them with the info module before running again."
                              % (exc.message, self.kind.key_field, self.kind.plural))
            raise

    def find_created(self):
        """The object a create in doubt made, if any: the key names it."""
        if self.key is None:
            return None
        matches = self.lookup.keyed(self.lookup.on_server(self.params["server_id"]), self.key)
        return survivor(matches) if matches else None

    def converge(self, created):
        """After a create, make a same-key race end with one object: the oldest.

        Two tasks that create the same key at once both POST. Each looks again
        after its own create; the one whose object is not the oldest deletes
        it and carries on with the oldest, so both succeed and later runs find
        exactly one.
        """
        if self.key is None:
            return created
        matches = self.lookup.keyed(self.lookup.on_server(self.params["server_id"]), self.key)
        if len(matches) < 2 or not any(m.get("id") == created.get("id") for m in matches):
            return created
        kept = survivor(matches)
        if kept.get("id") == created.get("id"):
            return created
        self.delete_own_duplicate(created)
        self.warn("Another task created %s %r on server %s at the same time; this task removed its own copy (id %s) "
                  "and uses id %s." % (self.kind.name, self.key, self.params["server_id"], created["id"], kept["id"]))
        # This task's own create was undone; only its deletions (if any) remain a change.
        self.result["changed"] = bool(self.result["deleted_" + self.kind.plural])
        return kept

    def delete_own_duplicate(self, duplicate):
        """Delete the duplicate this task made; if the API refuses while it is in progress, once it is done."""
        try:
            self.lookup.delete(duplicate["id"])
        except VpsorgApiError as exc:
            # Inferred: the API may refuse to delete an object still in progress.
            if exc.status is None or exc.status >= 500 or exc.status == 404:
                raise
            self.wait_until_settled(duplicate)
            self.lookup.delete(duplicate["id"])

    def settle(self, obj):
        """Wait (if asked) until ``obj`` is completed; fail on a failed one."""
        self.result[self.kind.name] = obj
        if self.params["wait"] and not is_settled(obj):
            obj = self.wait_until_settled(obj)
            self.result[self.kind.name] = obj
        if obj.get("status") in FAILED_STATUSES:
            self.fail("%s %s ended with status %r; delete it with state=absent and %s=%s before trying again."
                      % (self.kind.name.capitalize(), obj.get("id"), obj.get("status"), self.kind.id_option, obj.get("id")))
        return obj

    def wait_until_settled(self, obj):
        kind = self.kind
        server_id = server_id_of(obj)
        try:
            return self.client.wait_for(lambda: self.lookup.by_id(obj["id"], server_id), is_settled, self.deadline,
                                        "%s %s" % (kind.name, obj["id"]))
        except VpsorgApiError as exc:
            last = exc.last_object or obj
            self.result[kind.name] = last
            self.fail_api(exc, msg="%s It keeps going on the API side: wait again by running the task again, or "
                          "delete it with state=absent and %s=%s." % (exc.message, kind.id_option, last.get("id")))

    def prune(self):
        """state=absent with rotate: apply keep and max_age to one server, creating nothing."""
        objects = [o for o in self.lookup.on_server(self.params["server_id"]) if self.kind.in_scope(o)]
        plan = self.plan(objects, None)
        self.apply_plan(plan)
        if self.result["changed"]:
            gone = set(o.get("id") for o in plan.victims)
            self.changed(before={self.kind.plural: self.keys_of(objects)},
                         after={self.kind.plural: self.keys_of(o for o in objects if o.get("id") not in gone)})

    def keys_of(self, objects):
        return sorted(str(o.get(self.kind.key_field)) for o in objects)

    def ensure_absent(self):
        params, kind = self.params, self.kind
        if params.get("rotate"):
            return self.prune()
        if params[kind.id_option] is not None:
            target = self.lookup.by_id(params[kind.id_option])
            if target is not None and params["server_id"] and server_id_of(target) != params["server_id"]:
                self.fail("%s %s belongs to server %s, not to server %s; nothing was deleted."
                          % (kind.name.capitalize(), target["id"], server_id_of(target), params["server_id"]))
        else:
            target = self.the_keyed(self.lookup.on_server(params["server_id"]))
        if target is None:
            return
        self.result[kind.name] = target
        self.changed(before=target, after={})
        if self.check_mode:
            self.record_deleted([target])
        elif self.lookup.delete(target["id"]):
            self.record_deleted([target])
        else:
            # Someone else deleted it between our look and our DELETE.
            self.result["changed"] = False


class ResourceInfoModule(VpsorgModule):
    """Read-only listing of one kind, every page read, newest first."""

    kind = None
    filters = ()  # option names compared with the object's field of the same name

    def run(self):
        params = self.params
        objects = Lookup(self.client, self.kind).everywhere(self.list_params())
        if params.get("server_id") is not None:
            objects = [o for o in objects if server_id_of(o) == params["server_id"]]
        self.result[self.kind.plural] = newest_first(self.select(objects))

    def list_params(self):
        return {"server_id": self.params.get("server_id")}

    def select(self, objects):
        for option, field in self.filters:
            if self.params.get(option) is not None:
                objects = [o for o in objects if o.get(field) == self.params[option]]
        return objects
