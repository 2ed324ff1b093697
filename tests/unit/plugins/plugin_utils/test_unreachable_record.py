"""The record of unreachable tasks reads a task result in each shape a supported ansible-core hands it over."""

from __future__ import annotations

from types import SimpleNamespace

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import unreachable_record

DATA = {"unreachable": True, "msg": "  Failed to connect to the host via ssh: Connection refused  "}
LOOP = {"results": [{"item": "a", "changed": True}, {"item": "b", "unreachable": True, "msg": "gone during item b"}],
        "msg": "All items completed"}


def task(name="Patch step 2", ignore_unreachable=True):
    return SimpleNamespace(name=name, action="ansible.builtin.command", ignore_unreachable=ignore_unreachable)


class Result217:
    """ansible-core 2.17 and 2.18: _host, _task, _result and is_unreachable()."""

    def __init__(self, data):
        self._host, self._task, self._result = SimpleNamespace(name="web-01"), task(), data

    def is_unreachable(self):
        return bool(self._result.get("unreachable"))


class Result219(Result217):
    """ansible-core 2.19: host, task and _return_data."""

    def __init__(self, data):
        super().__init__({})
        self.host, self.task, self._return_data = self._host, self._task, data

    def is_unreachable(self):
        return bool(self._return_data.get("unreachable"))


class HostTaskResult:
    """ansible-core 2.21.5 and later: host, task and utr, whose unreachable is a property; no is_unreachable()."""

    def __init__(self, data):
        self.host, self.task = SimpleNamespace(name="web-01"), task()
        self.utr = SimpleNamespace(unreachable=bool(data.get("unreachable")) or any(
            r.get("unreachable") for r in data.get("results", [])), as_result_dict=lambda: dict(data))


def test_every_shape_of_result_is_read_alike():
    for shape in (Result217, Result219, HostTaskResult):
        assert unreachable_record.is_unreachable(shape(DATA)) is True, shape
        assert unreachable_record.is_unreachable(shape({"changed": True})) is False, shape
        entry = unreachable_record.describe(shape(DATA))
        assert entry["task"] == "Patch step 2" and entry["ignored"] is True and isinstance(entry["at"], float)
        assert entry["message"] == "Failed to connect to the host via ssh: Connection refused", shape
        # In a loop, the first item that could not reach the host says why.
        assert unreachable_record.describe(shape(LOOP))["message"] == "gone during item b", shape


class Base:
    def __init__(self, batches):
        self._batches = list(batches)
        self._variable_manager = SimpleNamespace(facts={})
        self._variable_manager.set_nonpersistent_facts = lambda host, facts: self._variable_manager.facts.update({host: facts})

    def _process_pending_results(self, *args, **kwargs):
        return self._batches.pop(0)


class Recorder(unreachable_record.UnreachableRecorder, Base):
    pass


class Res:
    def __init__(self):
        self._host = SimpleNamespace(name="web-01")
        self._task = SimpleNamespace(name="Step", action="x", ignore_unreachable=True)
        self._result = {"unreachable": True, "msg": "gone"}

    def is_unreachable(self):
        return True


def test_unreachable_results_of_later_batches_are_appended_not_reset():
    strategy = Recorder([[Res()], [Res()]])
    strategy._process_pending_results()
    strategy._process_pending_results()
    assert len(strategy._variable_manager.facts["web-01"][unreachable_record.FACT]) == 2
