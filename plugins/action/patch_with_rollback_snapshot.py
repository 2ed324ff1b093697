# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""patch_with_rollback_snapshot: the snapshots of a wave of the role, in one step on the controller.

Handed the preflight and what the quiesce left on each host, it decides which
hosts take a snapshot (plugins/plugin_utils/patch_with_rollback.py
``snapshot_takers``) and takes all their snapshots with one run of
vpsorg_snapshot (started together, polled together). Its result is that
module's, with the takers beside it; and, when no thaw follows (``thawing``
false), the hosts that patch (``patchers``), which only a thaw could change.
"""

from __future__ import annotations

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.module_run import run_module, unhanded

HANDED = {"wave": dict, "preflight": dict, "quiesce_failures": dict, "unreachable": dict, "snapshot": dict}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(HANDED) | {"thawing"}

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        problem = unhanded("patch_with_rollback_snapshot", args, HANDED)
        if problem:
            result.update(failed=True, msg=problem)
            return result
        wave = args["wave"]
        takers = logic.snapshot_takers(wave, args["preflight"], args["quiesce_failures"], args["unreachable"])
        if not takers:
            result.update(changed=False, results=[], takers=[], msg="No host of the wave takes a snapshot.")
        else:
            options = dict(args["snapshot"], server_ids=[wave["hosts"][host]["server_id"] for host in takers])
            result.update(run_module(self, "vpsorg_snapshot", options, task_vars or {}), takers=takers)
        if not boolean(args.get("thawing", True), strict=False):
            # No task runs on the hosts before the patch: the records of unreachable tasks are still those handed in.
            result["patching"] = logic.patchers(wave, result, {}, args["unreachable"])
        return result
