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

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import given_server_id
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_steps
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic


def result_of(registered):
    """A registered result as it is, never copied: copying reads every key, and ansible-core 2.19 and later warn at a
    read of a skipped result's deprecated ``skipped_reason`` (removed in 2.24). The logic reads only the keys it needs."""
    return registered if isinstance(registered, Mapping) else {}


def patch_wave(hostvars, all_hosts, batch, settings):
    return logic.plan_wave(logic.ReadOnce(hostvars), list(all_hosts), list(batch), dict(settings))


def _left(hosts, hostvars, name):
    """Each host's ``name`` (None when unset), for the deprecated filters, which read what the role's phases now hand on."""
    return dict((host, logic._get(logic._vars(hostvars, host), name)) for host in hosts)


def _shared(hosts, hostvars, name):
    """A fact the role sets once for the whole wave (run_once), as the first host that has it holds it; {} if none."""
    return next((value for value in _left(hosts, hostvars, name).values() if value is not None), {})


def _probes(wave, hostvars):
    """The starting hosts' probes, for the filters the role used before the action patch_with_rollback_preflight."""
    hostvars = logic.ReadOnce(hostvars or {})
    return dict((host, result_of(logic._get(logic._vars(hostvars, host), "__patch_with_rollback_probe", {})))
                for host in wave["starting"])


def patch_preflight(wave, hostvars, listing, server_reads, settings):
    """Deprecated (removed in 3.0.0): the role's preflight is the action patch_with_rollback_preflight."""
    settings = dict(settings)
    settings["report_problem"] = logic.report_folder_problem(settings["report_file"])
    reads = dict((given_server_id(item.get("item")), item) for item in result_of(server_reads).get("results") or [])
    return logic.judge_preflight(wave, _probes(wave, hostvars), result_of(listing), reads, settings)


def patch_select(wave, what, preflight=None, hostvars=None, snapshots=None, settings=None):
    """The hosts (or servers, or record entries) a step of the wave acts on."""
    preflight = preflight or {}
    hostvars = logic.ReadOnce(hostvars or {})
    if what == "unreachable_servers":
        return logic.unreachable_servers(wave, _probes(wave, hostvars))
    if what == "verified_servers":
        hosts = sorted(wave["hosts"])
        verified = logic.verified_hosts(
            _shared(hosts, hostvars, "__patch_with_rollback_patching") or [],
            _left(hosts, hostvars, "__patch_with_rollback_failure"),
            _shared(hosts, hostvars, "__patch_with_rollback_missed_by_host"),
            _left(hosts, hostvars, "__patch_with_rollback_connection"))
        return [wave["hosts"][h]["server_id"] for h in verified]
    if what == "ledger_before":
        return [] if wave["dry_run"] else logic.ledger_entries(preflight)
    hosts = sorted(wave["hosts"])
    takers = logic.snapshot_takers(wave, preflight, _left(hosts, hostvars, "__patch_with_rollback_quiesce_failure"),
                                   _left(hosts, hostvars, logic.UNREACHABLE_FACT))
    if what == "snapshot_servers":
        return [wave["hosts"][h]["server_id"] for h in takers]
    if what == "patch_hosts":
        return logic.patchers(dict(wave, snapshot_only=bool((settings or {}).get("snapshot_only"))),
                              dict(result_of(snapshots), takers=takers),
                              _left(hosts, hostvars, "__patch_with_rollback_thaw_failure"),
                              _left(hosts, hostvars, logic.UNREACHABLE_FACT))
    raise ValueError("patch_select: unknown selection %r" % (what,))


def patch_hosts(wave, snapshots, thaw_failures, records):
    return logic.patchers(wave, result_of(snapshots), dict(thaw_failures or {}), dict(records or {}))


def patch_failure(task_name, result, record, seen, phase):
    return logic.failure(task_name, result_of(result), list(record or []), seen, phase)


def patch_missed(record, start, end):
    return logic.missed_between(list(record or []), start, end)


def patch_end(patching, failures, records, seen):
    return logic.patch_end(list(patching or []), dict(failures or {}), dict(records or {}), dict(seen or {}))


def patch_wave_records(wave, phases, settings):
    """Every host's record of the wave, and the entries of the hosts' records of finished runs they call for."""
    phases = dict((name, result_of(value)) for name, value in dict(phases).items())
    records = logic.build_records(wave, phases, dict(settings))
    return {"records": records, "ledger": logic.ledger_targets(records, dict(settings))}


def patch_records(wave, hostvars, preflight, snapshots, marks, cleanup, ledger, settings):
    """Deprecated (removed in 3.0.0): the role hands what its phases left to patch_wave_records."""
    hosts = sorted(wave["hosts"])
    hostvars = logic.ReadOnce(hostvars or {})
    phases = {
        "preflight": dict(preflight or {}), "snapshots": result_of(snapshots), "marks": dict(marks or {}),
        "cleanup": result_of(cleanup), "ledger": result_of(ledger),
        "quiesce_failures": _left(hosts, hostvars, "__patch_with_rollback_quiesce_failure"),
        "thaw_failures": _left(hosts, hostvars, "__patch_with_rollback_thaw_failure"),
        "failures": _left(hosts, hostvars, "__patch_with_rollback_failure"),
        "missed": _shared(hosts, hostvars, "__patch_with_rollback_missed_by_host"),
        "rollbacks": _left(hosts, hostvars, "__patch_with_rollback_rollback"),
        "connections": _left(hosts, hostvars, "__patch_with_rollback_connection"),
        "unreachable": _left(hosts, hostvars, logic.UNREACHABLE_FACT),
        "patch_seen": _shared(hosts, hostvars, "__patch_with_rollback_patch_seen"),
    }
    return logic.build_records(dict(wave, snapshot_only=bool(settings.get("snapshot_only"))), phases, dict(settings))


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
            "patch_hosts": patch_hosts,
            "patch_missed": patch_missed,
            "patch_end": patch_end,
            "patch_records": patch_records,
            "patch_wave_records": patch_wave_records,
            "patch_ledger_targets": patch_ledger_targets,
            "patch_apt_error": patch_apt_error,
            "patch_reboot_needed": patch_reboot_needed,
            "patch_cleanup": patch_cleanup,
            "patch_rollback_outcome": patch_rollback_outcome,
        }
