"""wait_for_shell's deadline: from the task's start, or shared from a given time."""

from __future__ import annotations

from ansible_collections.vpsorg.cloud.plugins.action.wait_for_shell import seconds_left


def test_without_a_start_the_timeout_counts_from_the_task():
    assert seconds_left(300, None, 5000.0) == 300


def test_from_a_start_the_wait_gets_what_is_left_rounded_up():
    # Patched at 1000.0, 300 s to come back: at 1100.2 the wait has 199.8 s, so 200 whole seconds.
    assert seconds_left(300, 1000.0, 1100.2) == 200
    assert seconds_left(300, 1000.0, 1000.0) == 300


def test_a_deadline_already_past_still_gets_one_try():
    assert seconds_left(300, 1000.0, 1400.0) == 1
    assert seconds_left(0, 1000.0, 1000.5) == 1
    assert seconds_left(-5, 1000.0, 900.0) == 95
