#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpsorg_snapshot
short_description: Create, rotate and delete VPS.org server snapshots
version_added: 1.0.0
description:
  - Ensures a snapshot of a VPS.org server exists (and is completed) or is absent.
  - A snapshot is identified by its server and its O(name); running the task again does not create a second one.
  - The API keeps at most 5 snapshots per server. With O(rotate), the oldest snapshots whose name starts with a prefix
    are deleted to make room; no other snapshot is ever deleted.
author:
  - vpsorg.cloud maintainers (@vpsorg)
extends_documentation_fragment:
  - vpsorg.cloud.api
  - vpsorg.cloud.api.wait
  - vpsorg.cloud.api.retention
  - vpsorg.cloud.api.actions
options:
  server_id:
    description:
      - The id of the server.
      - Required with O(name), unless O(snapshot_id) is given.
    type: int
  server_ids:
    description:
      - Several servers at once, instead of O(server_id); every option applies to each of them.
      - A fleet costs one listing to decide what exists, one create per server that needs one, and one listing
        per poll for all of them together, instead of a task per server with its own reads and polls.
      - The result then holds RV(results), one entry per server; the task fails when any server failed, and the
        other servers are still done.
      - An id given more than once is one server, acted on once, with one entry in RV(results), where it first
        appears (inventory hosts that share a server give its id once each).
    type: list
    elements: int
  name:
    description:
      - The snapshot's name; letters, digits, hyphens and underscores only (checked before any request).
      - With O(server_id), the key of the snapshot.
    type: str
  description:
    description:
      - A description, set when the snapshot is created.
      - The API cannot change the description of an existing snapshot; a different value only gives a warning.
    type: str
  snapshot_id:
    description:
      - The id of an existing snapshot, to delete it or to wait for it.
      - With O(state=present), the snapshot must exist; it is never created by id.
    type: int
  state:
    description:
      - V(present) creates the snapshot if no snapshot of that name exists on the server, then waits for it.
      - V(absent) deletes the snapshot given by O(snapshot_id), or by O(server_id) and O(name); with O(rotate) and
        O(server_id) only, it prunes the server's snapshots of the prefix.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - Seconds to wait in all for the snapshot to be completed.
      - On timeout the task fails and its result still holds the snapshot's id and last status.
    type: int
    default: 1800
notes:
  - A snapshot taken while the server runs may hold an inconsistent file system; the provider recommends stopping
    the server first for the best result.
seealso:
  - module: vpsorg.cloud.vpsorg_snapshot_info
  - module: vpsorg.cloud.vpsorg_restore
"""

EXAMPLES = r"""
- name: Take a snapshot before an upgrade
  vpsorg.cloud.vpsorg_snapshot:
    server_id: 12345
    name: pre-upgrade-2026-11
    description: Before the November upgrade

- name: Take a nightly snapshot and keep the three newest nightly ones
  vpsorg.cloud.vpsorg_snapshot:
    server_id: 12345
    name: "nightly-{{ now(utc=true, fmt='%Y%m%d') }}"
    rotate:
      prefix: nightly-
      keep: 3

- name: Take one snapshot per server of a whole group with one task, polled together
  vpsorg.cloud.vpsorg_snapshot:
    server_ids: "{{ groups['web'] | map('extract', hostvars, 'vpsorg_server_id') | list }}"
    name: "pre-maintenance-{{ now(utc=true, fmt='%Y%m%d') }}"
  run_once: true
  delegate_to: localhost

- name: Delete pre-deploy snapshots older than three days, keeping at most two, without taking one
  vpsorg.cloud.vpsorg_snapshot:
    server_id: 12345
    state: absent
    rotate:
      prefix: pre-deploy-
      keep: 2
      max_age: 3d

- name: Start a snapshot without waiting for it
  vpsorg.cloud.vpsorg_snapshot:
    server_id: 12345
    name: quick
    wait: false

- name: Delete a snapshot by name
  vpsorg.cloud.vpsorg_snapshot:
    server_id: 12345
    name: pre-upgrade-2026-11
    state: absent

- name: Delete a snapshot by id, with the token from module_defaults
  vpsorg.cloud.vpsorg_snapshot:
    snapshot_id: 801
    state: absent
"""

RETURN = r"""
snapshot:
  description:
    - The snapshot as the API returned it (fields the collection does not know are kept).
    - In check mode, when it would be created, the planned fields only.
    - On a failed wait, the last state seen, so its id can be used to clean up.
  returned: always, unless O(server_ids) is given (then in each of RV(results))
  type: dict
  sample:
    id: 801
    server: {id: 12345, name: web-server-01}
    name: pre-upgrade-2026-11
    status: completed
    size_mb: 5120
    created_at: "2025-01-15T18:30:00Z"
    description: Before the November upgrade
deleted_snapshots:
  description:
    - The snapshots deleted (or, in check mode, that would be deleted) by rotation or O(state=absent).
    - A deletion by rotation has a C(reason), such as C(older than 14d) or C(beyond the newest 3).
    - A deletion whose DELETE the API carried out but answered with an error or not at all (its retry found the
      snapshot gone) is listed too, with a C(note) that says so.
  returned: always, unless O(server_ids) is given (then in each of RV(results))
  type: list
  elements: dict
  sample: [{id: 795, name: nightly-20261101, created_at: "2026-11-01T02:00:00Z", status: completed, reason: beyond the newest 3}]
blocking_objects:
  description: When the server is at the snapshot limit, the snapshots in the way.
  returned: when the limit is reached
  type: list
  elements: dict
deleted_before_create:
  description:
    - True when the server was at its limit, so rotation had to delete before creating (for a while the server had
      one restore point less); false when the deletions waited for the new object to be completed.
  returned: when an object was (or, in check mode, would be) created
  type: bool
reused:
  description: True when O(reuse_within) found a recent enough object, which is returned instead of a new one.
  returned: when an object was reused
  type: bool
results:
  description:
    - With O(server_ids), one entry per server, in the order given, with the fields above for that server
      (C(server_id), C(snapshot), C(deleted_snapshots), C(changed), and C(deleted_before_create), C(reused), C(failed) and
      C(msg) when they apply).
  returned: when O(server_ids) is given
  type: list
  elements: dict
  sample: [{server_id: 12345, changed: true, snapshot: {id: 801, status: completed}, deleted_snapshots: []}]
list_reads:
  description:
    - With O(server_ids), how each read of the servers' lists was made, in order - C(read=account), one listing of the
      whole account (C(account_pages) requests a pass), or C(read=per_server), one filtered listing per server,
      whichever costs fewer requests for the C(servers) read then.
  returned: when O(server_ids) is given
  type: list
  elements: dict
  sample: [{servers: 10, read: per_server, account_pages: 500}]
api_calls:
  description: How many HTTP requests the task sent, retries included.
  returned: always
  type: int
  sample: 1
"""

import re

from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import SNAPSHOT
from ansible_collections.vpsorg.cloud.plugins.module_utils.resource import ResourceModule, resource_argument_spec

SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
NAME_MAX_LENGTH = 100  # Inferred: the documented rules give no length; the simulator uses 100.


def name_problem(name):
    """Why a snapshot name would be refused, or None."""
    if not name:
        return "it is empty"
    if len(name) > NAME_MAX_LENGTH:
        return "it is longer than %d characters" % NAME_MAX_LENGTH
    if not SNAPSHOT_NAME.match(name):
        bad = sorted(set(c for c in name if not re.match(r"[A-Za-z0-9_-]", c)))
        return "it contains %s" % ", ".join(repr(c) for c in bad)
    return None


class SnapshotModule(ResourceModule):
    kind = SNAPSHOT
    argument_spec = resource_argument_spec("snapshot_id", 1800, name=dict(type="str"), description=dict(type="str"))
    mutually_exclusive = [("snapshot_id", "name"), ("snapshot_id", "rotate"), ("server_id", "server_ids"), ("snapshot_id", "server_ids")]

    def key_required(self):
        # A snapshot cannot be created without a name (a backup can).
        return self.params["state"] == "present" or super(SnapshotModule, self).key_required()

    def validate(self):
        super(SnapshotModule, self).validate()
        for label, value in (("name", self.key), ("rotate.prefix", (self.params["rotate"] or {}).get("prefix"))):
            problem = name_problem(value) if value is not None else None
            if problem:
                self.fail("%s %r is not a valid snapshot name: %s. Use only letters, digits, hyphens (-) and "
                          "underscores (_), at most %d characters." % (label, value, problem, NAME_MAX_LENGTH))

    def create_body(self, server_id):
        body = {"server_id": server_id, "name": self.key}
        if self.params["description"] is not None:
            body["description"] = self.params["description"]
        return body

    def drift_warnings(self, existing):
        wanted = self.params["description"]
        if wanted is not None and wanted != (existing.get("description") or ""):
            return ["Snapshot %s already exists with description %r; the API cannot change a snapshot's description, "
                    "so it was left as it is." % (existing.get("id"), existing.get("description"))]
        return []


def main():
    SnapshotModule.execute()


if __name__ == "__main__":
    main()
