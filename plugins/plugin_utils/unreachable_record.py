# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A record, per host, of every task that could not reach its host.

Ansible keeps no trace a play can read of a task result that was unreachable
with ``ignore_unreachable``: the host goes on as if the task had run. The
role patch_with_rollback must know, or a patch cut short by a host that went
away and came back would pass for a complete one. The strategies of this
collection mix this in: after Ansible has handled a batch of results, every
unreachable one is appended to the host's fact ``vpsorg_cloud_unreachable``,
ignored or not, whatever the task's own settings were.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

import time
from typing import Any

# Imported here for the workers' sake, not this module's: Ansible forks a worker
# from this process for every task and host, and the role patch_with_rollback
# calls these filters in the conditions of its per-host tasks. Imported once
# here, each worker finds them loaded; otherwise every worker imports them anew
# (measured: 1.3 s per task over 100 hosts).
from ansible_collections.vpsorg.cloud.plugins.filter import patch_with_rollback  # noqa: F401 pylint: disable=unused-import

FACT = "vpsorg_cloud_unreachable"


def _part(result: Any, name: str) -> Any:
    # ansible-core 2.19 names them host and task; 2.17 and 2.18 only _host and _task.
    value = getattr(result, name, None)
    return value if value is not None else getattr(result, "_" + name)


def _unified(result: Any) -> Any:
    # ansible-core 2.21.5 and later hand the strategy a HostTaskResult: host, task, and utr (the result itself).
    return getattr(result, "utr", None)


def _return_data(result: Any) -> dict:
    unified = _unified(result)
    if unified is not None:
        return unified.as_result_dict()
    data = getattr(result, "_return_data", None)
    return data if data is not None else result._result


def is_unreachable(result: Any) -> bool:
    """Whether a task result the strategy processed could not reach its host, in every supported ansible-core."""
    unified = _unified(result)
    if unified is not None:
        return bool(unified.unreachable)
    return bool(result.is_unreachable())


def describe(result: Any) -> dict:
    """The entry recorded for one unreachable result."""
    task = _part(result, "task")
    data = _return_data(result)
    # For a loop, the first item that could not reach the host says why; the task's own
    # message then only says "All items completed".
    items = [item for item in data.get("results") or [] if isinstance(item, dict) and item.get("unreachable")]
    message = items[0].get("msg") if items else data.get("msg")
    return {
        # The name as written, without the role's prefix that get_name() adds.
        "task": str(task.name or task.action),
        "message": str(message or "unreachable").strip(),
        "ignored": bool(task.ignore_unreachable),
        "at": round(time.time(), 3),
    }


class UnreachableRecorder:
    """Mixed into a strategy before its base class: records unreachable results as host facts."""

    def run(self, iterator: Any, play_context: Any) -> int:
        # An empty record proves to the role that this play keeps one.
        for host in self._inventory.get_hosts(iterator._play.hosts):
            self._records_for(host.name)
        return super(UnreachableRecorder, self).run(iterator, play_context)

    def _records_for(self, host_name: str) -> list[dict]:
        if not hasattr(self, "_vpsorg_unreachable"):
            self._vpsorg_unreachable = {}
        if host_name not in self._vpsorg_unreachable:
            self._vpsorg_unreachable[host_name] = []
            self._variable_manager.set_nonpersistent_facts(host_name, {FACT: []})
        return self._vpsorg_unreachable[host_name]

    def _process_pending_results(self, *args: Any, **kwargs: Any) -> list:
        results = super(UnreachableRecorder, self)._process_pending_results(*args, **kwargs)
        for result in results:
            if is_unreachable(result):
                host_name = _part(result, "host").name
                records = self._records_for(host_name)
                records.append(describe(result))
                self._variable_manager.set_nonpersistent_facts(host_name, {FACT: list(records)})
        return results
