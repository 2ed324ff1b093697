# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A task sent only to the hosts it concerns, decided without starting a worker.

Ansible starts a worker process for every task on every host, also for one
whose condition is false there: the worker evaluates the condition and
reports "skipped". On a controller with few cores that costs as much as a
task that runs (measured: about 25 ms per host, 2.5 s per task over 100
hosts). A task of the role patch_with_rollback that is skipped on most runs
(the quiesce, the thaw, the checks, the rollback, the final failure) names
its condition in the variable ``vpsorg_cloud_dispatch`` and says ``when:
vpsorg_cloud_dispatch``. The strategies of this collection template that
variable with the variables Ansible has already gathered for the host and
the task, and do not send the task to a host where it is false. Under any
other strategy the task's own condition skips it there, with the same
variables: the gate only saves the worker.
"""

from __future__ import absolute_import, annotations, division, print_function

__metaclass__ = type

from typing import Any, Callable

from ansible.playbook.handler import Handler
from ansible.template import Templar

GATE = "vpsorg_cloud_dispatch"


def provably_false(value: Any) -> bool:
    """Whether a templated gate says no: only the boolean False does. A string such as "no" is left to the worker's
    condition, which reads it differently in each ansible-core (2.17 as an expression, 2.19 as an error); a gate
    that keeps a task back must never differ from the condition that would have skipped it."""
    return value is False


def dispatches(own_vars: dict, task_vars: dict, template: Callable[[Any, dict], Any]) -> bool:
    """Whether a task with these ``vars`` of its own goes to the host whose variables are ``task_vars``.

    Only the task's own ``vars`` count: the tasks of a file it includes see the
    gate as a variable, but each of them is sent as it would be without it.
    A gate that cannot be templated dispatches, so that the worker reports the
    error as the task's own."""
    if GATE not in (own_vars or {}):
        return True
    try:
        value = template(own_vars[GATE], task_vars)
    except Exception:  # pylint: disable=broad-except
        return True
    return not provably_false(value)


class DispatchGate:
    """Mixed into a strategy before its base class: a host whose gate is false gets no worker for the task."""

    def _queue_task(self, host: Any, task: Any, task_vars: dict, play_context: Any) -> Any:
        # A handler stays notified until its result comes: the gate is for tasks only.
        if task.run_once or isinstance(task, Handler) or dispatches(task.vars, task_vars, self._template_gate):
            return super(DispatchGate, self)._queue_task(host, task, task_vars, play_context)
        # The strategy marked the host busy until a result comes; none will.
        self._blocked_hosts.pop(host.get_name(), None)
        return None

    def _template_gate(self, expression: Any, task_vars: dict) -> Any:
        return Templar(loader=self._loader, variables=task_vars).template(expression)
