#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: patch_with_rollback_snapshot
short_description: Take the snapshots of a wave of the role patch_with_rollback
version_added: 2.1.0
description:
  - Used by the role R(vpsorg.cloud.patch_with_rollback,ansible_collections.vpsorg.cloud.patch_with_rollback_role) once
    per wave, after the quiesce; its README's "How a host moves through a wave" shows where.
  - Decides which hosts take a snapshot - their preflight passed, their quiesce ended well, and no task has failed to
    reach them since the wave began - and takes all their snapshots with one run of M(vpsorg.cloud.vpsorg_snapshot)
    (its O(vpsorg.cloud.vpsorg_snapshot#module:server_ids)), as a task of its own would run it, with the play's
    C(module_defaults) and the environment.
  - In check mode, or when no host takes one, takes none.
extends_documentation_fragment:
  - vpsorg.cloud.patch_with_rollback
options:
  preflight:
    description: Each starting host's judgement, from M(vpsorg.cloud.patch_with_rollback_preflight).
    type: dict
    required: true
  quiesce_failures:
    description: Why each host's quiesce failed, by host name; null (or no entry) where it ended well.
    type: dict
    required: true
  unreachable:
    description: Each host's record of unreachable tasks (C(vpsorg_cloud_unreachable), kept by the strategy), by host
      name, as it is now.
    type: dict
    required: true
  snapshot:
    description: The options of M(vpsorg.cloud.vpsorg_snapshot) but O(vpsorg.cloud.vpsorg_snapshot#module:server_ids)
      (C(name), C(description), C(rotate), C(wait_timeout)).
    type: dict
    required: true
  thawing:
    description:
      - Whether a thaw runs on the hosts after the snapshots. When false, no task runs on them before the patch, and
        the result names the hosts that patch (RV(patching)).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Take the wave's snapshots
  vpsorg.cloud.patch_with_rollback_snapshot:
    wave: "{{ wave }}"
    preflight: "{{ checked.hosts }}"
    quiesce_failures: {}
    unreachable: {}
    thawing: false
    snapshot:
      name: pre-patch-CHG-42
      wait_timeout: 1800
  delegate_to: localhost
  run_once: true
  register: snapshots
  ignore_errors: true
"""

RETURN = r"""
takers:
  description: The hosts whose snapshot was asked for, by host name.
  returned: always
  type: list
  elements: str
results:
  description: The result of M(vpsorg.cloud.vpsorg_snapshot) for each of their servers (see its RV(vpsorg.cloud.vpsorg_snapshot#module:results)).
  returned: always
  type: list
  elements: dict
patching:
  description:
    - The hosts to patch, by host name. Of the takers, those whose snapshot is completed and whom no task has failed
      to reach since the wave began; none in check mode or with C(patch_with_rollback_snapshot_only).
  returned: when O(thawing) is false
  type: list
  elements: str
"""
