# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the playbook vpsorg.cloud.rollback_run: each a thin door to ``plugins/plugin_utils/undo.py``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import undo


def _result(registered):
    # As the role's filters do (result_of): never copy a registered result, a copy reads deprecated keys.
    return registered if isinstance(registered, Mapping) else {}


def undo_input_problem(run_id, pattern, matched):
    return undo.input_problem(run_id, pattern, list(matched or [])) or ""


def undo_servers(servers):
    return undo.servers_to_read(dict(servers))


def undo_plan(run_id, prefix, servers, listing, probes, server_reads, forced=None):
    return undo.plan(str(run_id), str(prefix), dict(servers), _result(listing),
                     dict((host, _result(probe)) for host, probe in dict(probes).items()), _result(server_reads),
                     [str(host) for host in forced or []])


def undo_wave(hostvars, all_hosts, batch, plan, check_mode):
    return undo.wave(logic.ReadOnce(hostvars), list(all_hosts), list(batch), plan, bool(check_mode))


def undo_record(host, plan, wave, outcome, forgotten, inventory_args=""):
    return undo.record(str(host), plan, wave, _result(outcome) or None, _result(forgotten), str(inventory_args))


def undo_gathered(plan, wave, found, restores):
    return undo.gathered(plan, wave, dict(found or {}), dict(restores or {}))


def undo_ledger_targets(records):
    return undo.ledger_targets(dict(records))


def undo_cleanup_servers(records, ledger):
    return undo.cleanup_servers(dict(records), _result(ledger))


def undo_finish(records, ledger, cleanup):
    return undo.finish(dict(records), _result(ledger), _result(cleanup))


class FilterModule:
    def filters(self):
        return {
            "undo_input_problem": undo_input_problem,
            "undo_servers": undo_servers,
            "undo_plan": undo_plan,
            "undo_wave": undo_wave,
            "undo_record": undo_record,
            "undo_gathered": undo_gathered,
            "undo_ledger_targets": undo_ledger_targets,
            "undo_cleanup_servers": undo_cleanup_servers,
            "undo_finish": undo_finish,
        }
