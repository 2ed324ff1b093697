#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vpsorg_server_info
short_description: Read a VPS.org server's id, name and status
version_added: 1.0.0
description:
  - Reads one server, for example to check that it is C(running) before taking a snapshot or patching it.
  - Changes nothing, so it also runs in check mode.
  - The server endpoint (C(GET /servers/{id}/)) is not in the provider's backup and snapshot documentation;
    this module relies only on the C(id), C(name) and C(status) fields and returns any others unchanged.
author:
  - vpsorg.cloud maintainers (@vpsorg)
extends_documentation_fragment:
  - vpsorg.cloud.api
  - vpsorg.cloud.api.info
options:
  server_id:
    description: The id of the server.
    type: int
    required: true
seealso:
  - module: vpsorg.cloud.vpsorg_restore
"""

EXAMPLES = r"""
- name: Read the server
  vpsorg.cloud.vpsorg_server_info:
    server_id: 12345
  register: result

- name: Stop unless it runs
  ansible.builtin.assert:
    that: result.server.status == 'running'
"""

RETURN = r"""
server:
  description: The server as the API returned it.
  returned: always
  type: dict
  sample: {id: 12345, name: web-server-01, status: running}
api_calls:
  description: How many HTTP requests the task sent, retries included.
  returned: always
  type: int
  sample: 1
"""

from ansible_collections.vpsorg.cloud.plugins.module_utils.base import VpsorgModule
from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import Servers


class ServerInfoModule(VpsorgModule):
    argument_spec = dict(server_id=dict(type="int", required=True))

    def run(self):
        self.result["server"] = Servers(self.client).get(self.params["server_id"])


def main():
    ServerInfoModule.execute()


if __name__ == "__main__":
    main()
