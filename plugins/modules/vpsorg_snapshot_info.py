#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpsorg_snapshot_info
short_description: List VPS.org server snapshots
version_added: 1.0.0
description:
  - Lists the snapshots of your servers, newest first, reading every page of the API's list.
  - Changes nothing, so it also runs in check mode.
author:
  - vpsorg.cloud maintainers (@vpsorg)
extends_documentation_fragment:
  - vpsorg.cloud.api
  - vpsorg.cloud.api.info
options:
  server_id:
    description: Only the snapshots of this server.
    type: int
  name:
    description: Only the snapshots with this exact name.
    type: str
  snapshot_id:
    description: Only the snapshot with this id.
    type: int
seealso:
  - module: vpsorg.cloud.vpsorg_snapshot
"""

EXAMPLES = r"""
- name: List the snapshots of a server
  vpsorg.cloud.vpsorg_snapshot_info:
    server_id: 12345
  register: result

- name: Show the newest one
  ansible.builtin.debug:
    msg: "{{ result.snapshots | first }}"
  when: result.snapshots | length > 0
"""

RETURN = r"""
snapshots:
  description: The snapshots that match, newest first, as the API returned them.
  returned: always
  type: list
  elements: dict
  sample:
    - id: 801
      server: {id: 12345, name: web-server-01}
      name: pre-migration-snapshot
      status: completed
      size_mb: 5120
      created_at: "2025-01-15T18:30:00Z"
      description: Before major migration
api_calls:
  description: How many HTTP requests the task sent, retries included.
  returned: always
  type: int
  sample: 1
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import SNAPSHOT
from ansible_collections.vpsorg.cloud.plugins.module_utils.resource import ResourceInfoModule


class SnapshotInfoModule(ResourceInfoModule):
    kind = SNAPSHOT
    filters = (("snapshot_id", "id"), ("name", "name"))
    argument_spec = dict(
        server_id=dict(type="int"),
        name=dict(type="str"),
        snapshot_id=dict(type="int"),
    )


def main():
    SnapshotInfoModule.execute()


if __name__ == "__main__":
    main()
