"""Counts, per host, the task results Ansible dispatched for it; writes them as JSON at the end of the run.

For scripts/benchmark only: set ANSIBLE_CALLBACK_PLUGINS to this folder,
ANSIBLE_CALLBACKS_ENABLED=dispatch_count and DISPATCH_COUNT_FILE to the output.
A run_once task counts once, for the host it ran for; an include counts once
per host (its own result), and the tasks of the included file on their own.
"""

import collections
import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: dispatch_count
type: aggregate
short_description: task results per host, for the benchmark
description: Counts task results per host and writes them to DISPATCH_COUNT_FILE.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "dispatch_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counts = collections.Counter()
        self.tasks = collections.Counter()

    def _count(self, result):
        host = result._host.get_name()
        self.counts[host] += 1
        self.tasks[result._task.get_name()] += 1

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = v2_runner_on_unreachable = _count

    def v2_playbook_on_stats(self, stats):
        with open(os.environ["DISPATCH_COUNT_FILE"], "w") as handle:
            json.dump({"hosts": self.counts, "tasks": self.tasks}, handle, indent=1, sort_keys=True)
