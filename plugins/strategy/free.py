# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: free
short_description: Ansible's free strategy, plus a record of unreachable tasks and a dispatch gate
version_added: 2.0.0
description:
  - Runs a play exactly as the built-in P(ansible.builtin.free#strategy) strategy does, plus a record of the
    tasks that could not reach their host and a dispatch gate (see the notes).
extends_documentation_fragment:
  - vpsorg.cloud.strategy
"""

from ansible.plugins.strategy.free import StrategyModule as BuiltinFree

from ansible_collections.vpsorg.cloud.plugins.plugin_utils.dispatch_gate import DispatchGate
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.unreachable_record import UnreachableRecorder


class StrategyModule(UnreachableRecorder, DispatchGate, BuiltinFree):
    """The built-in free strategy with the unreachable record and the dispatch gate mixed in."""
