# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What the collection's strategies (plugins/strategy/) add to Ansible's own.
    DOCUMENTATION = r"""
options: {}
notes:
  - Records, for each host, every task whose result was unreachable, also one with C(ignore_unreachable), in the
    host fact C(vpsorg_cloud_unreachable) (a list of C(task), C(message), C(ignored) and C(at)). Ansible itself keeps
    no trace of an ignored unreachable result that a play could read. The role
    R(vpsorg.cloud.patch_with_rollback,ansible_collections.vpsorg.cloud.patch_with_rollback_role) needs it to tell a
    patch cut short by a host that went away from a complete one.
  - Does not send a task to a host where the task's own variable C(vpsorg_cloud_dispatch), templated with the host's
    variables, is the boolean C(false); any other value is left to the task's condition. Such a task has
    C(vpsorg_cloud_dispatch) as its C(when) too, so it is skipped there under any strategy; this only saves the
    worker process Ansible starts for every task on every host, also for a skipped one. A host that gets no worker
    shows no C(skipping) line for the task and no C(skipped) count in the recap. Handlers are always sent. The role
    uses it for the steps most runs skip (quiesce, thaw, checks, rollback, the final failure).
  - The gate is templated on the controller for every host, one after another, and every variable it names is
    templated too, also one behind an C(and) that is never reached; a gate that names facts and plain values costs
    least.
author:
  - vpsorg.cloud maintainers (@vpsorg)
"""
