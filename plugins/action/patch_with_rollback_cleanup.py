# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""patch_with_rollback_cleanup: the clean-up after the verified hosts of a wave of the role, in one step.

Handed what the patch and the verification left on each host, it decides
which hosts are verified (plugins/plugin_utils/patch_with_rollback.py
``verified_hosts``) and cleans up their servers' snapshots as the wave's
clean-up mode says (``cleanup_options``, planned with the wave) with one run
of vpsorg_snapshot. Its result is that module's, with the verified hosts.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.module_run import run_module, unhanded

HANDED = {"wave": dict, "patching": list, "failures": dict, "missed": dict, "connections": dict}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(HANDED)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        problem = unhanded("patch_with_rollback_cleanup", args, HANDED)
        if problem:
            result.update(failed=True, msg=problem)
            return result
        wave = args["wave"]
        verified = logic.verified_hosts(args["patching"], args["failures"], args["missed"], args["connections"])
        # keep and hold delete nothing (the wave's cleanup is empty).
        if not verified or not wave["cleanup"]:
            result.update(changed=False, results=[], verified=verified, msg="Nothing to clean up.")
            return result
        options = dict(wave["cleanup"], state="absent", server_ids=[wave["hosts"][host]["server_id"] for host in verified])
        result.update(run_module(self, "vpsorg_snapshot", options, task_vars or {}), verified=verified)
        return result
