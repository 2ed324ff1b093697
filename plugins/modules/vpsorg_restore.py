#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpsorg_restore
short_description: Restore a VPS.org server from a backup or a snapshot
version_added: 1.0.0
description:
  - Restores a server from one of its backups or snapshots. B(This overwrites everything on the server) and cannot be
    undone; the provider stops the server before the restore begins.
  - Before anything is sent, the module checks that the source exists, is completed and belongs to O(server_id).
  - A restore is an action, not a state; every run that starts one reports C(changed=true).
    If the server is already being restored (for example a re-run after a lost connection), no second restore is
    started; the module waits for the running one and reports C(changed=false) with RV(restore_started=false).
author:
  - vpsorg.cloud maintainers (@vpsorg)
extends_documentation_fragment:
  - vpsorg.cloud.api
  - vpsorg.cloud.api.wait
  - vpsorg.cloud.api.actions
options:
  server_id:
    description: The id of the server to restore.
    type: int
    required: true
  backup_id:
    description: Restore from this backup (manual or automatic).
    type: int
  snapshot_id:
    description: Restore from this snapshot; it must be a snapshot of O(server_id).
    type: int
  snapshot_name:
    description: Restore from the snapshot of O(server_id) with this name.
    type: str
  wait_timeout:
    description:
      - Seconds to wait in all for the server to leave the C(restoring) status.
    type: int
    default: 3600
  allow_cross_server:
    description:
      - Allow restoring O(server_id) from a backup of another server.
      - A snapshot always restores its own server, so this does not apply to snapshots.
    type: bool
    default: false
  source_server_id:
    description:
      - The server that O(backup_id) or O(snapshot_id) belongs to, when it is not O(server_id).
      - The API cannot read one backup or snapshot by its id, so without this option a source that is not
        O(server_id)'s is searched for in the whole account's list (many requests in a big account). With it, only
        that server's list is read; a source not found there fails the task, and nothing is restored.
      - Restoring O(server_id) from another server's backup still needs O(allow_cross_server=true).
    type: int
notes:
  - In check mode everything is validated and nothing is sent; the task reports C(changed=true) and, with diff,
    the source that would be restored.
  - The wait ends when the server leaves C(restoring). C(running) is success; any other status fails the task.
seealso:
  - module: vpsorg.cloud.vpsorg_snapshot
  - module: vpsorg.cloud.vpsorg_backup
"""

EXAMPLES = r"""
- name: Roll a server back to the snapshot taken before patching
  vpsorg.cloud.vpsorg_restore:
    server_id: 12345
    snapshot_name: pre-patch-20261123

- name: Restore from a backup and do not wait
  vpsorg.cloud.vpsorg_restore:
    server_id: 12345
    backup_id: 501
    wait: false

- name: Clone another server's backup onto a spare server
  vpsorg.cloud.vpsorg_restore:
    server_id: 23456
    backup_id: 501
    allow_cross_server: true
"""

RETURN = r"""
server:
  description: The server after the restore (or as it is, in check mode).
  returned: always
  type: dict
  sample: {id: 12345, name: web-server-01, status: running}
source:
  description: What the server is (or would be) restored from.
  returned: always
  type: dict
  contains:
    kind:
      description: V(backup) or V(snapshot).
      type: str
    id:
      description: The backup's or snapshot's id.
      type: int
    name:
      description: The snapshot's name, or the backup's description.
      type: str
    created_at:
      description: When the source was taken.
      type: str
  sample: {kind: snapshot, id: 801, name: pre-patch-20261123, created_at: "2026-11-23T03:00:00Z"}
restore_started:
  description: Whether this run started a restore (false when one was already under way, and in check mode).
  returned: always
  type: bool
elapsed:
  description: Seconds the task took, waiting included.
  returned: always
  type: float
  sample: 312.4
api_calls:
  description: How many HTTP requests the task sent, retries included.
  returned: always
  type: int
  sample: 4
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils.restore import RestoreModule


def main():
    RestoreModule.execute()


if __name__ == "__main__":
    main()
