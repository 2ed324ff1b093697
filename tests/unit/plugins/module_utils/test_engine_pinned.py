"""Retention and the engine's pure parts at the edges a hand mutation pass found unpinned."""

from __future__ import annotations

import calendar
import time

from ansible_collections.vpsorg.cloud.plugins.module_utils.resource import Target
from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import age_of, newest_reusable, plan_rotation

NOW = calendar.timegm((2026, 11, 29, 12, 0, 0, 0, 0, 0))
HOUR, DAY = 3600, 86400


def snap(object_id, name, seconds_ago, status="completed"):
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - seconds_ago))
    return {"id": object_id, "name": name, "created_at": created, "status": status}


def test_only_a_completed_object_in_the_future_is_reported_ageless():
    # An object in progress is never deleted anyway: warning that max_age cannot reach it would be noise.
    existing = [snap(1, "pre-1", -DAY, status="in_progress"), snap(2, "pre-2", -DAY)]
    plan = plan_rotation(existing, "name", 5, None, "pre-", max_age=HOUR, now=NOW)
    assert [o["id"] for o in plan.ageless] == [2] and plan.victims == []


def test_an_object_exactly_as_old_as_reuse_within_is_reused():
    assert newest_reusable([snap(1, "pre-1", HOUR)], "name", "pre-", HOUR, NOW)["id"] == 1
    assert newest_reusable([snap(1, "pre-1", HOUR + 1)], "name", "pre-", HOUR, NOW) is None


def test_an_object_made_this_second_is_zero_seconds_old():
    assert age_of(snap(1, "pre-1", 0), NOW) == 0


def test_a_listing_that_shows_the_object_in_progress_has_not_seen_it_completed():
    done = {"id": 5, "status": "completed"}
    assert Target(1, obj=done, view=[{"id": 5, "status": "in_progress"}]).seen_completed is False
    assert Target(1, obj=done, view=[{"id": 4, "status": "completed"}, dict(done)]).seen_completed is True
    assert Target(1, obj=done, view=[{"id": 4, "status": "completed"}]).seen_completed is False
