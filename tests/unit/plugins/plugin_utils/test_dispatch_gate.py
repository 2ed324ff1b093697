"""The dispatch gate: a task goes to a host unless its own gate is provably false there."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import dispatch_gate
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.dispatch_gate import GATE, DispatchGate, dispatches


def template(expression, task_vars):
    """Stands for Ansible's templating: looks the expression up in the host's variables."""
    if expression not in task_vars:
        raise KeyError(expression)
    return task_vars[expression]


def test_a_gate_that_is_false_keeps_the_task_from_the_host():
    assert not dispatches({GATE: "gate"}, {"gate": False}, template)


@pytest.mark.parametrize("value", [True, "True", "yes", "1", "anything", None, 0, [], ["h1"], {},
                                   "False", "false", " no ", "0", "off", "n", ""])
def test_only_a_boolean_false_keeps_the_task_from_the_host(value):
    # Anything else, strings that read as false included, is left to the worker's own condition: ansible-core 2.17
    # reads a string there as an expression and 2.19 refuses it, so the gate cannot know what the worker would do.
    assert dispatches({GATE: "gate"}, {"gate": value}, template)


def test_a_task_without_a_gate_goes_to_every_host():
    assert dispatches({}, {}, template)
    assert dispatches(None, {}, template)
    assert dispatches({"other": "x"}, {"x": False}, template)


def test_a_gate_that_cannot_be_templated_sends_the_task_so_the_worker_reports_the_error():
    assert dispatches({GATE: "undefined"}, {}, template)


class Base:
    """Stands for Ansible's strategy: records what it was asked to queue."""

    def __init__(self):
        self.queued = []
        self._blocked_hosts = {}
        self._loader = None

    def _queue_task(self, host, task, task_vars, play_context):
        self.queued.append((host.get_name(), task.name))
        return "queued"


class Strategy(DispatchGate, Base):

    def _template_gate(self, expression, task_vars):
        return template(expression, task_vars)


def host(name):
    return SimpleNamespace(get_name=lambda: name)


def task(gate, run_once=False):
    return SimpleNamespace(name="Roll back", vars={GATE: gate} if gate else {}, run_once=run_once)


def test_the_strategy_queues_the_task_only_where_its_gate_is_not_false_and_frees_the_others():
    strategy = Strategy()
    for name, value in (("h1", True), ("h2", False), ("h3", False)):
        strategy._blocked_hosts[name] = True
        strategy._queue_task(host(name), task("gate"), {"gate": value}, None)
    assert strategy.queued == [("h1", "Roll back")]
    # The strategy marks a host busy until its result comes; a host that gets no worker is free at once.
    assert strategy._blocked_hosts == {"h1": True}


def test_a_run_once_task_is_queued_whatever_its_gate_says():
    strategy = Strategy()
    strategy._queue_task(host("h1"), task("gate", run_once=True), {"gate": False}, None)
    assert strategy.queued == [("h1", "Roll back")]


def from_yaml(text):
    """A template as a task's YAML hands it over: ansible-core 2.19 and later template only trusted text."""
    try:
        from ansible.template import trust_as_template
    except ImportError:  # ansible-core 2.17 and 2.18 trust every string
        return text
    return trust_as_template(text)


def test_a_handler_is_queued_whatever_its_gate_says():
    from ansible.playbook.handler import Handler
    handler = Handler()
    handler.name, handler.vars = "Restart", {GATE: "gate"}
    strategy = Strategy()
    strategy._queue_task(host("h1"), handler, {"gate": False}, None)
    assert strategy.queued == [("h1", "Restart")]


def test_the_gate_is_templated_with_the_hosts_variables_by_ansible():
    # The real templating: the gate's own expression over the variables the strategy gathered for the host.
    gate = DispatchGate()
    gate._loader = None
    host_vars = {"inventory_hostname": "h2", "hosts": ["h1"]}
    assert dispatch_gate.provably_false(gate._template_gate(from_yaml("{{ inventory_hostname in hosts }}"), host_vars))
    host_vars["hosts"].append("h2")
    assert not dispatch_gate.provably_false(gate._template_gate(from_yaml("{{ inventory_hostname in hosts }}"), host_vars))
