# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""patch_with_rollback_preflight: the role's preflight of a wave, in one step on the controller.

It is handed what the wave's hosts answered (their probes) and does the rest
itself: one listing of the snapshots, a read of each server whose host did
not answer, the judgement of every host (plugins/plugin_utils/
patch_with_rollback.py), and what the hosts' records get before the snapshot.
Run as tasks, these were two API tasks and three filters, each parking its
result in a fact for the next one to dig up.
"""

from __future__ import annotations

import time

from ansible.plugins.action import ActionBase

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.module_run import run_module, unhanded

HANDED = {"wave": dict, "probes": dict, "settings": dict}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(HANDED)

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        problem = unhanded("patch_with_rollback_preflight", self._task.args, HANDED)
        if problem:
            result.update(failed=True, msg=problem)
            return result
        wave, probes = self._task.args["wave"], self._task.args["probes"]
        settings = dict(self._task.args["settings"])
        if not wave["starting"]:
            result.update(changed=False, hosts={}, quiescing=[], ledger=[], at=time.time())
            return result
        settings["report_problem"] = logic.report_folder_problem(settings["report_file"])
        listing = run_module(self, "vpsorg_snapshot_info", {"server_id": logic.listing_scope(wave)}, task_vars)
        reads = dict((server_id, run_module(self, "vpsorg_server_info", {"server_id": server_id}, task_vars))
                     for server_id in logic.unreachable_servers(wave, probes))
        judged = logic.judge_preflight(wave, probes, listing, reads, settings)
        result.update(changed=False, hosts=judged, at=time.time(), quiescing=logic.quiescing(wave, judged),
                      # Before the snapshot: the earlier runs the operator resolved (a dry run writes nothing).
                      ledger=[] if wave["dry_run"] else logic.ledger_entries(judged))
        return result
