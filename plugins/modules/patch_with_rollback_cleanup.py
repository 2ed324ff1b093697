#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: patch_with_rollback_cleanup
short_description: Clean up after the verified hosts of a wave of the role patch_with_rollback
version_added: 2.1.0
description:
  - Used by the role R(vpsorg.cloud.patch_with_rollback,ansible_collections.vpsorg.cloud.patch_with_rollback_role) once
    per wave, after the verification; its README's "How a host moves through a wave" shows where.
  - Decides which hosts are verified - patched, nothing failed, no task of the patch missed them, and the fresh
    connection at the end of the checks was made - and cleans up their servers' snapshots as the wave's clean-up mode
    (its C(cleanup)) says (C(delete) this run's snapshot, C(keep_newest) rotates the role's, C(keep) and C(hold) delete nothing) with
    one run of M(vpsorg.cloud.vpsorg_snapshot), as a task of its own would run it, with the play's C(module_defaults)
    and the environment.
extends_documentation_fragment:
  - vpsorg.cloud.patch_with_rollback
options:
  patching:
    description: The hosts that were patched, from M(vpsorg.cloud.patch_with_rollback_snapshot) or P(vpsorg.cloud.patch_hosts#filter).
    type: list
    elements: str
    required: true
  failures:
    description: What failed each host's patch or verification, by host name; null (or no entry) where nothing did.
    type: dict
    required: true
  missed:
    description: The tasks of each host's patch that could not reach it, by host name, as
      P(vpsorg.cloud.patch_end#filter) returns them (its RV(vpsorg.cloud.patch_end#filter:_value.missed)).
    type: dict
    required: true
  connections:
    description: Each host's registered result of its verification's fresh connection
      (M(vpsorg.cloud.wait_for_shell)), by host name.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Clean up the snapshots of the verified hosts
  vpsorg.cloud.patch_with_rollback_cleanup:
    wave: "{{ wave }}"
    patching: "{{ patching }}"
    failures: {}
    missed: {}
    connections: "{{ dict(patching | zip(patching | map('extract', hostvars, 'connection'))) }}"
  delegate_to: localhost
  run_once: true
  register: cleaned
  ignore_errors: true
"""

RETURN = r"""
verified:
  description: The hosts patched and verified, by host name.
  returned: always
  type: list
  elements: str
results:
  description: The result of M(vpsorg.cloud.vpsorg_snapshot) for each of their servers; empty when nothing was to be
    deleted.
  returned: always
  type: list
  elements: dict
"""
