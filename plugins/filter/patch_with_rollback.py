# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filters of the role patch_with_rollback: its decisions and records, in Python.

Each filter is a thin door to ``plugins/plugin_utils/patch_with_rollback.py``,
where the logic and its unit tests live.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_steps
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic


def result_of(registered):
    """A registered result as it is, never copied: copying reads every key, and ansible-core 2.19 and later warn at a
    read of a skipped result's deprecated ``skipped_reason`` (removed in 2.24). The logic reads only the keys it needs."""
    return registered if isinstance(registered, Mapping) else {}


def patch_wave(hostvars, all_hosts, batch, settings):
    return logic.plan_wave(logic.ReadOnce(hostvars), list(all_hosts), list(batch), dict(settings))


def patch_preflight(wave, hostvars, listing, server_reads, settings):
    settings = dict(settings)
    settings["report_problem"] = logic.report_folder_problem(settings["report_file"])
    return logic.judge_preflight(wave, logic.ReadOnce(hostvars), result_of(listing), result_of(server_reads), settings)


def patch_select(wave, what, preflight=None, hostvars=None, snapshots=None, settings=None):
    """The hosts (or servers, or record entries) a step of the wave acts on."""
    preflight = preflight or {}
    hostvars = logic.ReadOnce(hostvars or {})
    if what == "unreachable_servers":
        return logic.unreachable_servers(wave, hostvars)
    if what == "verified_servers":
        return [wave["hosts"][h]["server_id"] for h in logic.verified(wave, hostvars)]
    if what == "ledger_before":
        return [] if wave["dry_run"] else logic.ledger_entries(preflight)
    if what == "snapshot_servers":
        if wave["dry_run"]:
            return []
        return [wave["hosts"][h]["server_id"] for h in logic.snapshot_takers(wave, preflight, hostvars)]
    if what == "patch_hosts":
        return logic.patchers(wave, preflight, hostvars, result_of(snapshots), settings or {})
    raise ValueError("patch_select: unknown selection %r" % (what,))


def patch_failure(task_name, result, record, seen, phase):
    return logic.failure(task_name, result_of(result), list(record or []), seen, phase)


def patch_missed(record, start, end):
    return logic.missed_between(list(record or []), start, end)


def patch_records(wave, hostvars, preflight, snapshots, marks, cleanup, ledger, settings):
    return logic.build_records(wave, logic.ReadOnce(hostvars), dict(preflight or {}), result_of(snapshots),
                               dict(marks or {}), result_of(cleanup), result_of(ledger), dict(settings))


def patch_ledger_targets(records, settings):
    return logic.ledger_targets(dict(records), dict(settings))


def patch_apt_error(result):
    return patch_steps.apt_error(result_of(result))


def patch_reboot_needed(mode, reboot_flag, needs_restarting):
    return patch_steps.reboot_needed(str(mode), result_of(reboot_flag), result_of(needs_restarting))


def patch_cleanup(how, snapshot_name, prefix, keep):
    return patch_steps.cleanup_options(str(how), str(snapshot_name), str(prefix), int(keep))


def patch_rollback_outcome(restore, server_read, unhealthy):
    return patch_steps.rollback_outcome(result_of(restore), result_of(server_read), unhealthy)


class FilterModule:
    def filters(self):
        return {
            "patch_wave": patch_wave,
            "patch_preflight": patch_preflight,
            "patch_select": patch_select,
            "patch_failure": patch_failure,
            "patch_missed": patch_missed,
            "patch_records": patch_records,
            "patch_ledger_targets": patch_ledger_targets,
            "patch_apt_error": patch_apt_error,
            "patch_reboot_needed": patch_reboot_needed,
            "patch_cleanup": patch_cleanup,
            "patch_rollback_outcome": patch_rollback_outcome,
        }
