"""A finished ansible-runner job's results, read the way ansible-runner documents them.

``Runner.events`` reads the job's event files (``artifacts/<ident>/job_events``);
while the job runs it may be behind what Ansible has done, so every reader here
refuses a runner whose status is not final. Not every event has ``event_data``:
a line Ansible printed outside its callback (a warning, a verbose line) is a
``verbose`` event with ``stdout`` only. Each event is given an ``event_data``
({} where it had none), so a reader never meets a missing key.
"""

FINAL = ("successful", "failed", "timeout", "canceled")


def events(runner):
    """Every event of the ended job, in order, each with an event_data mapping."""
    assert runner.status in FINAL, "ansible-runner job still %s: its events are not all written" % runner.status
    return [dict(event, event_data=event.get("event_data") or {}) for event in runner.events]


def stats_data(runner):
    """The job's set_stats data (AWX keeps it as the job's artifacts): the stats event's artifact_data."""
    found = [event["event_data"] for event in events(runner) if event.get("event") == "playbook_on_stats"]
    assert len(found) == 1, "the job has %d stats events, not one" % len(found)
    return found[0].get("artifact_data") or {}


def host_events(runner, kinds=None, task=None):
    """The events about a host: of the given event kinds, and of the task named, when given."""
    return [event for event in events(runner)
            if event["event_data"].get("host")
            and (kinds is None or event.get("event") in kinds)
            and (task is None or event["event_data"].get("task") == task)]
