# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one of the collection's API modules from inside an action plugin, as a task of its own would run it.

A phase of the role that needs the API and a decision in one step (the
preflight: list, read, judge) runs the module through the action's own
connection, with the task's check mode and environment, and the play's
``module_defaults`` for the module and for ``group/vpsorg.cloud.vpsorg`` (the
role's README tells users to put the API's URL and token there).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

COLLECTION = "vpsorg.cloud."


def unhanded(step: str, args: Mapping[str, Any], kinds: Mapping[str, type]) -> str | None:
    """Why a step of the role cannot run: the arguments the role hands it (``kinds``: name to dict or list) that are
    missing or of another kind, or None. A step never reads a missing result as "nothing happened"."""
    wrong = ["%s (%s)" % (name, "a list" if kind is list else "a mapping")
             for name, kind in kinds.items() if not isinstance(args.get(name), kind)]
    return "%s needs %s, as the role hands them." % (step, ", ".join(wrong)) if wrong else None


def _with_defaults(action: Any, module: str, args: dict) -> dict:
    """``args`` over the play's module_defaults for ``module``: ansible-core moved this helper in 2.19."""
    try:
        # ansible-core 2.19 and later: private, the one gather_facts, package and service use.
        from ansible.executor.module_common import _apply_action_arg_defaults
    except ImportError:
        from ansible.executor.module_common import get_action_args_with_defaults
        return get_action_args_with_defaults(module, args, action._task.module_defaults, action._templar,
                                             action_groups=action._task._parent._play._action_groups)
    return _apply_action_arg_defaults(module, action._task, args, action._templar)


def run_module(action: Any, name: str, args: dict, task_vars: dict) -> dict:
    """The result of the collection's module ``name`` with ``args`` (None values left out, as ``omit`` would)."""
    module = COLLECTION + name
    given = dict((key, value) for key, value in args.items() if value is not None)
    return action._execute_module(module_name=module, module_args=_with_defaults(action, module, given),
                                  task_vars=task_vars, wrap_async=False)
