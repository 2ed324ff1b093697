#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpsorg_backup_info
short_description: List VPS.org backups and plan around the manual backup limit
version_added: 1.0.0
description:
  - Lists the backups of your servers, newest first, reading every page of the API's list.
  - Also returns, per server, how many manual backups exist, how many more fit under the limit of 10,
    and the newest completed backup.
  - Changes nothing, so it also runs in check mode.
author:
  - vpsorg.cloud maintainers (@vpsorg)
extends_documentation_fragment:
  - vpsorg.cloud.api
  - vpsorg.cloud.api.info
options:
  server_id:
    description: Only the backups of this server.
    type: int
  backup_type:
    description: Only manual or only automatic backups (the per-server figures always count both kinds).
    type: str
    choices: [manual, automatic]
  backup_id:
    description: Only the backup with this id.
    type: int
  description:
    description: Only the backups with exactly this description.
    type: str
seealso:
  - module: vpsorg.cloud.vpsorg_backup
"""

EXAMPLES = r"""
- name: Plan before taking backups
  vpsorg.cloud.vpsorg_backup_info:
    server_id: 12345
  register: result

- name: Stop when there is no room for one more manual backup
  ansible.builtin.assert:
    that: result.servers[0].manual_backups_room > 0
    fail_msg: "Server 12345 is at the limit of 10 manual backups"
"""

RETURN = r"""
backups:
  description: The backups that match, newest first, as the API returned them.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 501
      server: {id: 12345, name: web-server-01}
      backup_type: automatic
      status: completed
      size_mb: 4523
      created_at: "2025-01-16T03:00:00Z"
      expires_at: "2025-02-16T03:00:00Z"
      description: Automatic daily backup
servers:
  description: One entry per server that has backups (or per O(server_id) asked for), ordered by server id.
  returned: always
  type: list
  elements: dict
  contains:
    server_id:
      description: The server's id.
      type: int
    manual_backups:
      description: How many manual backups the server has.
      type: int
    manual_backups_room:
      description: How many more manual backups fit under the API's limit of 10.
      type: int
    automatic_backups:
      description: How many automatic backups the server has.
      type: int
    newest_completed_backup:
      description: The newest completed backup of the server (manual or automatic), or null.
      type: dict
  sample:
    - server_id: 12345
      manual_backups: 3
      manual_backups_room: 7
      automatic_backups: 7
      newest_completed_backup: {id: 501, backup_type: automatic, status: completed}
api_calls:
  description: How many HTTP requests the task sent, retries included.
  returned: always
  type: int
  sample: 1
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import newest_first, server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import BACKUP
from ansible_collections.vpsorg.cloud.plugins.module_utils.resource import ResourceInfoModule


def server_summaries(backups, server_ids):
    """Per server: manual count, room left under the limit, newest completed backup (one pass over the backups)."""
    owned = dict((server_id, []) for server_id in server_ids)
    for backup in backups:
        owned.get(server_id_of(backup), []).append(backup)
    summaries = []
    for server_id in sorted(server_ids):
        mine = newest_first(owned[server_id])
        manual = [b for b in mine if BACKUP.in_scope(b)]
        completed = [b for b in mine if b.get("status") == "completed"]
        summaries.append({
            "server_id": server_id,
            "manual_backups": len(manual),
            "manual_backups_room": max(0, BACKUP.limit - len(manual)),
            "automatic_backups": len([b for b in mine if b.get("backup_type") == "automatic"]),
            "newest_completed_backup": completed[0] if completed else None,
        })
    return summaries


class BackupInfoModule(ResourceInfoModule):
    kind = BACKUP
    filters = (("backup_id", "id"), ("backup_type", "backup_type"), ("description", "description"))
    argument_spec = dict(
        server_id=dict(type="int"),
        backup_type=dict(type="str", choices=["manual", "automatic"]),
        backup_id=dict(type="int"),
        description=dict(type="str"),
    )

    def select(self, objects):
        # The per-server figures need every backup, whatever the filters.
        server_ids = set(server_id_of(b) for b in objects)
        if self.params["server_id"] is not None:
            server_ids = {self.params["server_id"]}
        self.result["servers"] = server_summaries(objects, server_ids)
        return super(BackupInfoModule, self).select(objects)


def main():
    BackupInfoModule.execute()


if __name__ == "__main__":
    main()
