# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""One engine for keyed, limited, rotatable resources: snapshots and manual backups.

A snapshot is keyed by (server, name) with at most 5 per server; a manual
backup by (server, description) with at most 10 manual ones per server. The
rules around them (idempotent create, rotation, limit errors, reconciliation
of a lost create, waiting, absent) are the same, so they live here once and
the two modules only declare what differs.
"""

from __future__ import annotations

from ansible_collections.vpsorg.cloud.plugins.module_utils.base import (
    VpsorgModule,
    created_key,
    newest_first,
    server_id_of,
)
from ansible_collections.vpsorg.cloud.plugins.module_utils.client import VpsorgApiError

# Inferred: only "in_progress" and "completed" are documented. Any status we do
# not know is treated as still working, so an unknown transient state never
# fails a task early; these are the ones that end a wait as a failure.
FAILED_STATUSES = ("failed", "error", "cancelled", "canceled")


def is_settled(obj):
    return obj.get("status") == "completed" or obj.get("status") in FAILED_STATUSES


def plan_rotation(existing, key_field, limit, new_key, prefix=None, keep=None):
    """What to delete before creating one more object, and whether it will fit.

    ``existing`` are the objects counting towards ``limit``. With ``prefix``,
    the oldest objects whose key starts with it are deleted so that at most
    ``keep`` of them remain once the new one exists; nothing else is touched.
    Returns ``(victims, blockers)``: ``blockers`` is empty when the create
    fits under the limit, else the objects that would remain in the way.
    """
    ordered = sorted(existing, key=created_key)
    victims = []
    if prefix is not None:
        rotating = [o for o in ordered if str(o.get(key_field) or "").startswith(prefix)]
        new_counts = 1 if (new_key or "").startswith(prefix) else 0
        excess = len(rotating) + new_counts - keep
        victims = rotating[:max(0, excess)]
    victim_ids = set(o.get("id") for o in victims)
    remaining = [o for o in ordered if o.get("id") not in victim_ids]
    blockers = remaining if len(remaining) + 1 > limit else []
    return victims, blockers


def resource_argument_spec(id_option, wait_timeout, **own):
    """The options every keyed resource module takes, plus its ``own``."""
    spec = dict(
        server_id=dict(type="int"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=wait_timeout),
        rotate=dict(type="dict", options=dict(
            prefix=dict(type="str", required=True, no_log=False),
            keep=dict(type="int", required=True, no_log=False),
        )),
    )
    spec[id_option] = dict(type="int")
    spec.update(own)
    return spec


def describe(obj, key_field):
    return "%s (id %s, created %s, %s)" % (
        obj.get(key_field) or "<no %s>" % key_field, obj.get("id"), obj.get("created_at"), obj.get("status"))


def summary(obj, key_field):
    """The few fields a message or a deleted-list needs."""
    return {
        "id": obj.get("id"),
        key_field: obj.get(key_field),
        "created_at": obj.get("created_at"),
        "status": obj.get("status"),
    }


class ResourceModule(VpsorgModule):
    """present/absent for a keyed resource; subclasses set the class attributes."""

    resource = None      # "snapshot": the result key, and "<resource>_id" the id option
    path = None          # "/snapshots/"
    key_field = None     # the API field that identifies one object on a server
    limit = None         # how many may exist on a server
    limit_label = None   # "snapshots", "manual backups"

    # -------------------------------------------------------- subclass hooks

    def in_scope(self, obj):
        """True for objects that count towards the limit and can match the key."""
        return True

    def create_body(self):
        raise NotImplementedError

    def drift_warnings(self, existing):
        """Warnings for an existing object that differs in what the API cannot change."""
        return []

    # -------------------------------------------------------------- helpers

    @property
    def plural(self):
        return self.resource + "s"

    @property
    def id_option(self):
        return self.resource + "_id"

    @property
    def key(self):
        return self.params.get(self.key_field)

    def server_objects(self, server_id):
        """All objects of one server (the filter is re-applied: lists may hold more)."""
        return [o for o in self.client.list(self.path, {"server_id": server_id}) if server_id_of(o) == server_id]

    def find_by_id(self, object_id, server_id=None):
        objects = self.server_objects(server_id) if server_id else self.client.list(self.path)
        return next((o for o in objects if o.get("id") == object_id), None)

    def keyed_objects(self):
        """The objects of the server given by server_id that match the key (normally none or one)."""
        return self.matching(self.server_objects(self.params["server_id"]))

    def matching(self, objects):
        return [o for o in objects if self.in_scope(o) and o.get(self.key_field) == self.key]

    def fail_ambiguous(self, matches):
        self.fail("%d %s on server %s have %s %r: %s. Name the one you mean with %s."
                  % (len(matches), self.plural, self.params["server_id"], self.key_field, self.key,
                     ", ".join(describe(o, self.key_field) for o in newest_first(matches)), self.id_option))

    # ------------------------------------------------------------ main flow

    def run(self):
        self.result[self.resource] = None
        self.result["deleted_" + self.plural] = []
        if self.params["state"] == "absent":
            self.ensure_absent()
        else:
            self.ensure_present()

    def validate(self):
        params = self.params
        if params[self.id_option] is None and (params["server_id"] is None or (self.key is None and self.key_required())):
            needed = "server_id and %s" % self.key_field if self.key_required() else "server_id"
            self.fail("state=%s needs %s, or %s." % (params["state"], needed, self.id_option))
        rotate = params.get("rotate")
        if rotate and not rotate["prefix"]:
            self.fail("rotate.prefix must not be empty: an empty prefix would match every %s of the server."
                      % self.resource)
        if rotate and not 1 <= rotate["keep"] <= self.limit:
            self.fail("rotate.keep must be between 1 and %s (the API keeps at most %s %s per server), got %s."
                      % (self.limit, self.limit, self.limit_label, rotate["keep"]))

    def key_required(self):
        return self.params["state"] == "absent"

    def ensure_present(self):
        params = self.params
        self.start_deadline(params["wait_timeout"])
        if params[self.id_option] is not None:
            existing = self.find_by_id(params[self.id_option], params["server_id"])
            if existing is None:
                self.fail("%s %s does not exist%s; %s cannot create an object with a chosen id."
                          % (self.resource.capitalize(), params[self.id_option],
                             " on server %s" % params["server_id"] if params["server_id"] else "", self.id_option))
            return self.settle(existing)

        objects = self.server_objects(params["server_id"])
        if self.key is not None:
            matches = self.matching(objects)
            if len(matches) > 1:
                self.fail_ambiguous(matches)
            if matches:
                for warning in self.drift_warnings(matches[0]):
                    self.warn(warning)
                return self.settle(matches[0])

        rotate = params.get("rotate") or {}
        victims, blockers = plan_rotation(
            [o for o in objects if self.in_scope(o)], self.key_field, self.limit, self.key,
            rotate.get("prefix"), rotate.get("keep"))
        if blockers:
            self.fail_limit(blockers, bool(rotate))

        planned = dict(self.create_body(), status="in_progress")
        self.changed(before={}, after=planned)
        self.result["deleted_" + self.plural] = [summary(o, self.key_field) for o in victims]
        if self.check_mode:
            self.result[self.resource] = planned
            return None
        for victim in victims:
            self.client.delete("%s%s/" % (self.path, victim["id"]), missing_ok=True)
        created = self.create()
        self.result[self.resource] = created
        return self.settle(created)

    def fail_limit(self, blockers, rotating):
        listing = ", ".join(describe(o, self.key_field) for o in newest_first(blockers))
        how = ("delete one with state=absent and %s, or set rotate (prefix and keep) so the oldest %s "
               "with that prefix are replaced" % (self.id_option, self.limit_label))
        if rotating:
            how = ("rotation can only delete %s whose %s starts with rotate.prefix; delete one of these "
                   "with state=absent and %s" % (self.limit_label, self.key_field, self.id_option))
        self.fail("Server %s already has %d %s, the most the API allows: %s. To make room, %s."
                  % (self.params["server_id"], len(blockers), self.limit_label, listing, how),
                  blocking_objects=[summary(o, self.key_field) for o in newest_first(blockers)])

    def create(self):
        """POST once; when the answer is lost, look the key up before sending again."""
        body = self.create_body()
        attempt = 0
        while True:
            try:
                created = self.client.post(self.path, body)
            except VpsorgApiError as exc:
                if not exc.maybe_committed:
                    raise
                if self.key is None:
                    self.fail_api(exc, msg="%s The create may or may not have happened and, without a %s, it cannot "
                                  "be told apart from other %s; list them with the info module before running again."
                                  % (exc.message, self.key_field, self.plural))
                found = self.keyed_objects()
                if found:
                    return found[0]
                if attempt >= self.client.retry.retries:
                    raise
                self.client.sleep(self.client.retry.delay(attempt))
                attempt += 1
                continue
            if isinstance(created, dict) and created.get("id") is not None:
                return created
            # Inferred: the create answer is the new object; if it is not, find it.
            found = self.keyed_objects() if self.key is not None else []
            if not found:
                self.fail("The API accepted the %s but its answer holds no id: %r" % (self.resource, created))
            return found[0]

    def settle(self, obj):
        """Wait (if asked) until ``obj`` is completed; fail on a failed one."""
        self.result[self.resource] = obj
        if self.params["wait"] and not is_settled(obj):
            what = "%s %s" % (self.resource, obj["id"])
            server_id = server_id_of(obj)
            try:
                obj = self.client.wait_for(lambda: self.find_by_id(obj["id"], server_id), is_settled, self.deadline, what)
            except VpsorgApiError as exc:
                last = exc.last_object or obj
                self.result[self.resource] = last
                self.fail_api(exc, msg="%s It keeps going on the API side: wait again by running the task again, or "
                              "delete it with state=absent and %s=%s." % (exc.message, self.id_option, last.get("id")))
            self.result[self.resource] = obj
        if obj.get("status") in FAILED_STATUSES:
            self.fail("%s %s ended with status %r; delete it with state=absent and %s=%s before trying again."
                      % (self.resource.capitalize(), obj.get("id"), obj.get("status"), self.id_option, obj.get("id")))
        return obj

    def ensure_absent(self):
        params = self.params
        if params[self.id_option] is not None:
            target = self.find_by_id(params[self.id_option])
            if target is not None and params["server_id"] and server_id_of(target) != params["server_id"]:
                self.fail("%s %s belongs to server %s, not to server %s; nothing was deleted."
                          % (self.resource.capitalize(), target["id"], server_id_of(target), params["server_id"]))
            targets = [target] if target is not None else []
        else:
            targets = self.keyed_objects()
            if len(targets) > 1:
                self.fail_ambiguous(targets)
        if not targets:
            return
        target = targets[0]
        self.result["deleted_" + self.plural] = [summary(target, self.key_field)]
        self.result[self.resource] = target
        self.changed(before=target, after={})
        if not self.check_mode and not self.client.delete("%s%s/" % (self.path, target["id"]), missing_ok=True):
            # Someone else deleted it between our look and our DELETE.
            self.result["changed"] = False
            self.result["deleted_" + self.plural] = []


class ResourceInfoModule(VpsorgModule):
    """Read-only listing of one resource, every page read, newest first."""

    resource = None
    path = None
    filters = ()  # option names compared with the object's field of the same name

    def run(self):
        params = self.params
        objects = self.client.list(self.path, self.list_params())
        if params.get("server_id") is not None:
            objects = [o for o in objects if server_id_of(o) == params["server_id"]]
        self.result[self.resource + "s"] = newest_first(self.select(objects))

    def list_params(self):
        return {"server_id": self.params.get("server_id")}

    def select(self, objects):
        for option, field in self.filters:
            if self.params.get(option) is not None:
                objects = [o for o in objects if o.get(field) == self.params[option]]
        return objects
