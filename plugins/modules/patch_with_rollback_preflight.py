#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: patch_with_rollback_preflight
short_description: Judge a wave of the role patch_with_rollback before its snapshots
version_added: 2.1.0
description:
  - Used by the role R(vpsorg.cloud.patch_with_rollback,ansible_collections.vpsorg.cloud.patch_with_rollback_role) once
    per wave, after each starting host's probe; its README's "How a host moves through a wave" shows where.
  - Lists the snapshots once (the only starting host's server with M(vpsorg.cloud.vpsorg_snapshot_info), or the whole
    account for more), reads with M(vpsorg.cloud.vpsorg_server_info) each server whose host did not answer, and judges
    every starting host - reachability, unresolved rollbacks, room under the limit of 5 snapshots with rotation, the
    package managers of the built-in patch, and the report's folder on the controller.
  - The API modules run as a task of their own would, with the play's C(module_defaults) and the environment.
  - It changes nothing.
extends_documentation_fragment:
  - vpsorg.cloud.patch_with_rollback
options:
  probes:
    description:
      - Each starting host's registered result of the role's probe (its one C(raw) command), by host name.
      - Every starting host's is needed; a missing one fails the task instead of being read as a host that did not
        answer.
    type: dict
    required: true
  settings:
    description: The role's settings (its C(__patch_with_rollback_settings)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Judge the preflight
  vpsorg.cloud.patch_with_rollback_preflight:
    wave: "{{ wave }}"
    probes: "{{ dict(wave.starting | zip(wave.starting | map('extract', hostvars, 'probe'))) }}"
    settings: "{{ settings }}"
  delegate_to: localhost
  run_once: true
  register: checked
"""

RETURN = r"""
hosts:
  description: Each starting host's judgement - C(passed), C(problems), and what was seen (C(reachable),
    C(server_status), C(snapshots), C(room), C(rotation_would_delete), C(held_snapshots), C(unresolved_snapshots),
    C(marked_resolved), C(shares_server_with)), with C(verdict) and C(manual_step) for a host that did not pass.
  returned: always
  type: dict
quiescing:
  description: The hosts that passed, sorted, which go on to the quiesce and the snapshot; none in check mode.
  returned: always
  type: list
  elements: str
  version_added: 2.1.0
ledger:
  description: The entries the hosts' records of finished runs get before the snapshot (C(host), C(name),
    C(status) C(resolved)) - the earlier runs the operator said were resolved. Empty in check mode.
  returned: always
  type: list
  elements: dict
at:
  description: When the preflight ended, in seconds since the epoch (the report's time of the preflight).
  returned: always
  type: float
"""
