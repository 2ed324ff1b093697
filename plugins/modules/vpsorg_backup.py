#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpsorg_backup
short_description: Create, rotate and delete VPS.org manual backups
version_added: 1.0.0
description:
  - Ensures a manual backup of a VPS.org server exists (and is completed) or is absent.
  - A manual backup is identified by its server and its O(description). Without a O(description), every run
    creates a new backup and reports C(changed=true).
  - The API keeps at most 10 manual backups per server; automatic backups never count towards that limit and this
    module never deletes one unless it is named by O(backup_id).
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
      - Required unless O(backup_id) is given.
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
  description:
    description:
      - The backup's description; with O(server_id), the key of a manual backup.
      - Without it, O(state=present) creates a new backup on every run.
    type: str
  backup_id:
    description:
      - The id of an existing backup (manual or automatic), to delete it or to wait for it.
      - With O(state=present), the backup must exist; it is never created by id.
    type: int
  state:
    description:
      - V(present) creates a manual backup unless one with that description exists on the server, then waits for it.
      - V(absent) deletes the backup given by O(backup_id), or the manual backup given by O(server_id) and
        O(description); with O(rotate) and O(server_id) only, it prunes the server's manual backups of the prefix.
    type: str
    choices: [present, absent]
    default: present
  wait_timeout:
    description:
      - Seconds to wait in all for the backup to be completed.
      - On timeout the task fails and its result still holds the backup's id and last status.
    type: int
    default: 3600
seealso:
  - module: vpsorg.cloud.vpsorg_backup_info
  - module: vpsorg.cloud.vpsorg_restore
"""

EXAMPLES = r"""
- name: A daily backup from a task that runs every hour, kept two weeks
  vpsorg.cloud.vpsorg_backup:
    server_id: 12345
    description: "daily-{{ now(utc=true, fmt='%Y%m%d%H%M') }}"
    reuse_within: 23h
    rotate:
      prefix: daily-
      max_age: 14d

- name: Prune the server's daily backups without taking one (check mode shows which would go, and why)
  vpsorg.cloud.vpsorg_backup:
    server_id: 12345
    state: absent
    rotate:
      prefix: daily-
      keep: 7
      max_age: 14d

- name: Make sure this month's backup exists
  vpsorg.cloud.vpsorg_backup:
    server_id: 12345
    description: "monthly-{{ now(utc=true, fmt='%Y-%m') }}"
    rotate:
      prefix: monthly-
      keep: 6

- name: Take a new backup on every run (no description, so no key)
  vpsorg.cloud.vpsorg_backup:
    server_id: 12345
    wait: false

- name: Delete a backup by id (automatic backups too)
  vpsorg.cloud.vpsorg_backup:
    backup_id: 501
    state: absent
"""

RETURN = r"""
backup:
  description:
    - The backup as the API returned it (fields the collection does not know are kept).
    - In check mode, when it would be created, the planned fields only.
    - On a failed wait, the last state seen, so its id can be used to clean up.
  returned: always, unless O(server_ids) is given (then in each of RV(results))
  type: dict
  sample:
    id: 502
    server: {id: 12345, name: web-server-01}
    backup_type: manual
    status: completed
    size_mb: 4523
    created_at: "2025-01-16T03:00:00Z"
    expires_at: null
    description: monthly-2026-11
deleted_backups:
  description:
    - The backups deleted (or, in check mode, that would be deleted) by rotation or O(state=absent).
    - A deletion by rotation has a C(reason), such as C(older than 14d) or C(beyond the newest 3).
    - A deletion whose DELETE the API carried out but answered with an error or not at all (its retry found the
      backup gone) is listed too, with a C(note) that says so.
  returned: always, unless O(server_ids) is given (then in each of RV(results))
  type: list
  elements: dict
  sample: [{id: 480, description: monthly-2026-05, created_at: "2026-05-01T02:00:00Z", status: completed, reason: beyond the newest 3}]
blocking_objects:
  description: When the server is at the manual backup limit, the manual backups in the way.
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
      (C(server_id), C(backup), C(deleted_backups), C(changed), and C(deleted_before_create), C(reused), C(failed) and
      C(msg) when they apply).
  returned: when O(server_ids) is given
  type: list
  elements: dict
  sample: [{server_id: 12345, changed: true, backup: {id: 801, status: completed}, deleted_backups: []}]
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

from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import BACKUP
from ansible_collections.vpsorg.cloud.plugins.module_utils.resource import ResourceModule, resource_argument_spec

DESCRIPTION_MAX_LENGTH = 255  # Inferred: not documented; the simulator uses 255.


class BackupModule(ResourceModule):
    kind = BACKUP
    argument_spec = resource_argument_spec("backup_id", 3600, description=dict(type="str"))
    mutually_exclusive = [("backup_id", "description"), ("backup_id", "rotate"), ("server_id", "server_ids"),
                          ("backup_id", "server_ids")]

    def validate(self):
        super(BackupModule, self).validate()
        if self.key is not None and len(self.key) > DESCRIPTION_MAX_LENGTH:
            self.fail("description is %d characters long; the API accepts at most %d."
                      % (len(self.key), DESCRIPTION_MAX_LENGTH))

    def create_body(self, server_id):
        body = {"server_id": server_id}
        if self.key is not None:
            body["description"] = self.key
        return body


def main():
    BackupModule.execute()


if __name__ == "__main__":
    main()
