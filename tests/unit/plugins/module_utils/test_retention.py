"""Retention rules on their own: durations, ages, keep and max_age together, reuse of a recent object."""

from __future__ import annotations

import calendar

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import (
    age_of,
    created_epoch,
    held,
    hold_seconds,
    newest_reusable,
    parse_duration,
    plan_rotation,
)

NOW = calendar.timegm((2026, 11, 29, 12, 0, 0, 0, 0, 0))
HOUR, DAY = 3600, 86400


def at(seconds_ago):
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % tuple(__import__("time").gmtime(NOW - seconds_ago)[:6])


def snap(object_id, name, seconds_ago, status="completed"):
    return {"id": object_id, "name": name, "created_at": at(seconds_ago), "status": status}


def ids(objects):
    return [o["id"] for o in objects]


@pytest.mark.parametrize("text,seconds", [("36h", 36 * HOUR), ("14d", 14 * DAY), ("2w", 14 * DAY),
                                          ("90m", 5400), ("1d12h", 36 * HOUR), ("45s", 45)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "14", "two weeks", "0d", "-3d", "3y", None])
def test_bad_durations_say_what_to_write(text):
    with pytest.raises(ValueError) as caught:
        parse_duration(text)
    assert "36h" in str(caught.value) or "longer than zero" in str(caught.value)


def test_timestamps_in_utc_with_offsets_and_fractions():
    assert created_epoch({"created_at": "2026-11-29T12:00:00Z"}) == NOW
    assert created_epoch({"created_at": "2026-11-29T13:00:00+01:00"}) == NOW
    assert created_epoch({"created_at": "2026-11-29T12:00:00.5Z"}) == NOW + 0.5
    assert created_epoch({"created_at": "yesterday"}) is None
    assert created_epoch({}) is None


def test_an_age_in_the_future_or_unreadable_is_unknown():
    assert age_of(snap(1, "a", HOUR), NOW) == HOUR
    assert age_of(snap(1, "a", -HOUR), NOW) is None
    assert age_of({"created_at": "soon"}, NOW) is None


EXISTING = [
    snap(1, "pre-1", 20 * DAY),
    snap(2, "pre-2", 10 * DAY),
    snap(3, "pre-3", 2 * DAY),
    snap(4, "other", 30 * DAY),
    snap(5, "pre-4", HOUR, status="in_progress"),
]


def test_keep_only():
    plan = plan_rotation(EXISTING, "name", 5, None, "pre-", keep=2)
    assert ids(plan.victims) == [1, 2]
    assert plan.reasons == {1: "beyond the newest 2", 2: "beyond the newest 2"}


def test_max_age_only_never_touches_other_prefixes_or_objects_in_progress():
    plan = plan_rotation(EXISTING, "name", 5, None, "pre-", max_age=7 * DAY, now=NOW, max_age_text="7d")
    assert ids(plan.victims) == [1, 2] and plan.reasons[1] == "older than 7d"


def test_keep_and_max_age_together():
    # pre-4 is in progress: it counts among the newest 3 but is never deleted.
    plan = plan_rotation(EXISTING, "name", 5, None, "pre-", keep=3, max_age=7 * DAY, now=NOW, max_age_text="7d")
    assert ids(plan.victims) == [1, 2]
    assert plan.reasons == {1: "beyond the newest 3, older than 7d", 2: "older than 7d"}


def test_a_future_created_at_is_never_deleted_for_age():
    skewed = EXISTING + [snap(6, "pre-0", -DAY)]
    plan = plan_rotation(skewed, "name", 6, None, "pre-", max_age=DAY, now=NOW)
    assert 6 not in ids(plan.victims) and ids(plan.ageless) == [6]


def test_reuse_compares_against_the_newest_not_the_oldest():
    completed = [o for o in EXISTING if o["status"] == "completed"]
    assert newest_reusable(completed, "name", "pre-", 3 * DAY, NOW)["id"] == 3
    assert newest_reusable(completed, "name", "pre-", DAY, NOW) is None
    # The object in progress is newer but is not reusable.
    assert newest_reusable(EXISTING, "name", "pre-", HOUR * 2, NOW) is None


def test_max_age_deletes_only_what_is_older_than_it():
    # "older than 7d": an object exactly 7 days old stays.
    boundary = [snap(1, "pre-1", 7 * DAY), snap(2, "pre-2", 7 * DAY + 1)]
    assert ids(plan_rotation(boundary, "name", 5, None, "pre-", max_age=7 * DAY, now=NOW).victims) == [2]


def held_snap(object_id, name, seconds_ago, hold, status="completed"):
    return dict(snap(object_id, name, seconds_ago, status), description="hold=%ds once verified; run x" % hold)


def test_rotation_leaves_a_snapshot_under_its_hold_and_says_so():
    existing = [held_snap(1, "pre-patch-a", 20 * HOUR, DAY), snap(2, "pre-patch-b", 10 * HOUR),
                held_snap(3, "pre-patch-c", 30 * HOUR, DAY)]
    plan = plan_rotation(existing, "name", 5, None, "pre-patch-", max_age=HOUR, now=NOW)
    # c's hold ran out 6 hours ago; a's has 4 hours to go; b has none.
    assert ids(plan.victims) == [3, 2] and ids(plan.held) == [1]
    assert plan.reasons == {3: "older than 3600 s", 2: "older than 3600 s"}
    keep = plan_rotation(existing, "name", 5, "pre-patch-d", "pre-patch-", keep=1, now=NOW)
    assert ids(keep.victims) == [3, 2] and ids(keep.held) == [1]


def test_a_held_snapshot_counts_against_the_limit_and_blocks_a_new_one():
    existing = [held_snap(i, "pre-patch-%d" % i, i * HOUR, DAY) for i in range(1, 6)]
    plan = plan_rotation(existing, "name", 5, "pre-patch-new", "pre-patch-", keep=2, now=NOW)
    assert plan.victims == [] and len(plan.held) == 4 and ids(plan.blockers) == [5, 4, 3, 2, 1]


def test_a_hold_whose_start_cannot_be_read_holds_when_in_doubt():
    unreadable = dict(held_snap(1, "pre-patch-a", 0, HOUR), created_at="yesterday")
    assert held(unreadable, NOW) is True
    assert held(held_snap(1, "pre-patch-a", 2 * HOUR, HOUR), NOW) is False
    assert held(snap(1, "pre-patch-a", 0), NOW) is False
    assert hold_seconds({"description": "no hold=12 here, nor hold=12m"}) is None
    assert hold_seconds({"description": None}) is None and hold_seconds({"description": "hold=90s"}) == 90


def test_a_hold_ends_ten_minutes_late_for_a_controller_clock_that_runs_fast():
    assert held(held_snap(1, "pre-patch-a", DAY + 9 * 60, DAY), NOW) is True
    assert held(held_snap(1, "pre-patch-a", DAY + 11 * 60, DAY), NOW) is False


def test_a_hold_has_run_out_the_second_its_margin_has():
    assert held(held_snap(1, "pre-patch-a", DAY + 599, DAY), NOW) is True
    assert held(held_snap(1, "pre-patch-a", DAY + 600, DAY), NOW) is False


def test_a_hold_is_the_word_hold_and_whole_seconds():
    assert hold_seconds({"description": "withhold=90s"}) is None
    assert hold_seconds({"description": "hold=90sec"}) is None
    assert hold_seconds({"description": "run c1; hold=90s, verified"}) == 90


def test_an_object_in_progress_is_neither_a_victim_nor_held():
    existing = [snap(1, "pre-1", 20 * DAY, status="in_progress"),
                held_snap(2, "pre-2", 10 * DAY, 30 * DAY, status="in_progress"), snap(3, "pre-3", DAY)]
    plan = plan_rotation(existing, "name", 5, None, "pre-", keep=1, max_age=7 * DAY, now=NOW)
    assert plan.victims == [] and plan.held == [] and plan.reasons == {}
