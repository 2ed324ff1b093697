"""Pure logic: rotation planning, ordering, retry delays, error texts."""

from __future__ import annotations

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import created_epoch, created_key, newest_first, server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.client import (
    ListView,
    Pace,
    RetryPolicy,
    TornListError,
    VpsorgApiError,
    VpsorgClient,
    error_text,
    is_loopback,
    page_repeats,
    parse_retry_after,
)
from ansible_collections.vpsorg.cloud.plugins.module_utils.kinds import ACCOUNT_WIDE_PASSES, SNAPSHOT, Lookup
from ansible_collections.vpsorg.cloud.plugins.module_utils.retention import in_prefix, newest_reusable, plan_rotation


def snap(object_id, name, created):
    return {"id": object_id, "name": name, "created_at": created, "status": "completed"}


EXISTING = [
    snap(5, "nightly-3", "2026-11-03T02:00:00Z"),
    snap(2, "keep-me", "2026-10-01T00:00:00Z"),
    snap(3, "nightly-1", "2026-11-01T02:00:00Z"),
    snap(4, "nightly-2", "2026-11-02T02:00:00Z"),
]


def ids(objects):
    return [o["id"] for o in objects]


def test_rotation_deletes_oldest_matching_only():
    victims, blockers = plan_rotation(EXISTING, "name", 5, "nightly-4", "nightly-", 2)[:2]
    assert ids(victims) == [3, 4] and blockers == []


def test_rotation_with_a_new_name_outside_the_prefix():
    victims = plan_rotation(EXISTING, "name", 5, "manual", "nightly-", 2)[0]
    assert ids(victims) == [3]


def test_rotation_that_cannot_make_room_names_the_blockers():
    crowded = EXISTING + [snap(6, "other", "2026-11-04T00:00:00Z")]
    victims, blockers = plan_rotation(crowded, "name", 5, "nightly-4", "nightly-", 5)[:2]
    assert victims == [] and sorted(ids(blockers)) == [2, 3, 4, 5, 6]


def test_limit_without_rotation():
    blockers = plan_rotation(EXISTING, "name", 4, "new", None, None)[1]
    assert len(blockers) == 4
    assert plan_rotation(EXISTING, "name", 5, "new")[1] == []


def test_ordering_uses_time_then_id_and_handles_fractions():
    objects = [
        {"id": 9, "created_at": "2026-01-01T00:00:00.5Z"},
        {"id": 8, "created_at": "2026-01-01T00:00:00Z"},
        {"id": 7, "created_at": "2026-01-01T00:00:00Z"},
        {"id": 1, "created_at": None},
    ]
    assert ids(sorted(objects, key=created_key)) == [1, 7, 8, 9]
    assert ids(newest_first(objects)) == [9, 8, 7, 1]


def test_ordering_reads_offsets_as_ages_do():
    # 01:00 at +02:00 is 23:00 UTC the day before: older, though it sorts later as text.
    objects = [{"id": 1, "created_at": "2026-01-01T00:00:00Z"}, {"id": 2, "created_at": "2026-01-01T01:00:00+02:00"}]
    assert ids(newest_first(objects)) == [1, 2]


def test_the_server_of_an_object_is_read_nested_or_flattened():
    """Documented: a nested server object. Inferred, and tolerated: a flat server_id, or a bare id."""
    assert server_id_of({"id": 5, "server": {"id": 101, "name": "web"}}) == 101
    assert server_id_of({"id": 5, "server_id": 102}) == 102
    assert server_id_of({"id": 5, "server": 103}) == 103
    assert server_id_of({"id": 5}) is None


def test_retry_delays():
    policy = RetryPolicy(retries=5, max_delay=10, base_delay=1, jitter=lambda: 1.0)
    assert [policy.delay(n) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    assert RetryPolicy(jitter=lambda: 0.0).delay(0) == 0.5
    assert policy.delay(0, retry_after=30) == 10
    assert policy.delay(3, retry_after=2) == 2


def test_retry_after_forms():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT", now=1445412480) == 5.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_error_texts():
    assert error_text({"detail": "Nope."}, "") == "Nope."
    assert error_text({"name": ["Bad.", "Short."], "server_id": ["Req."]}, "") == "name: Bad. Short.; server_id: Req."
    assert error_text(None, "<h1>502</h1>\n  oops") == "<h1>502</h1> oops"
    assert error_text(None, "") == "(empty body)"
    assert error_text(None, "x" * 400).endswith("...")


def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("10.0.0.1") and not is_loopback("admin.vps.org") and not is_loopback(None)


def poll_times(duration, wait_timeout=3600):
    """The moments the client polls an operation that ends after ``duration`` s, on a virtual clock."""
    from ansible_collections.vpsorg.cloud.plugins.module_utils.client import Deadline, VpsorgClient

    clock = [0.0]
    polls = []

    def fetch():
        polls.append(clock[0])
        return {"status": "completed" if clock[0] >= duration else "in_progress"}

    client = VpsorgClient.__new__(VpsorgClient)
    client.sleep = lambda seconds: clock.__setitem__(0, clock[0] + seconds)
    client.wait_for(fetch, lambda obj: obj["status"] == "completed", Deadline(wait_timeout, clock=lambda: clock[0]), "x")
    return polls


def test_poll_schedule_fits_the_documented_durations():
    ten_minutes = poll_times(600)
    assert len(ten_minutes) <= 25 and ten_minutes[-1] - 600 <= 30
    assert poll_times(60)[-1] - 60 <= 10
    # Never more than 30 s late, whatever the duration.
    for duration in range(1, 1200, 7):
        assert poll_times(duration)[-1] - duration <= 30


# ------------------------------------------------------------ the list's count check


def page(*object_ids):
    return [{"id": i} for i in object_ids]


def test_a_view_is_whole_when_it_holds_exactly_what_the_pages_count():
    view = ListView()
    view.add(page(1, 2), 3)
    assert not view.whole()
    view.add(page(2), 3)  # a torn page repeats one it already has
    assert not view.whole()
    view.add(page(3, 2), 3)
    assert view.whole() and sorted(o["id"] for o in view.objects()) == [1, 2, 3]


def test_a_page_that_counts_differently_starts_the_view_over():
    view = ListView()
    view.add(page(1, 2), 3)
    # One object more now: 1 and 2 may be gone since, so only what this page shows counts.
    view.add(page(3, 4), 4)
    assert not view.whole() and sorted(o["id"] for o in view.objects()) == [3, 4]
    view.add(page(5, 6), 4)
    assert view.whole() and sorted(o["id"] for o in view.objects()) == [3, 4, 5, 6]


def test_a_page_without_a_count_in_a_counted_list_cannot_complete_it():
    view = ListView()
    view.add(page(1, 2), 3)
    view.add(page(3), None)
    assert not view.whole() and view.counted


def test_more_ids_than_the_count_keeps_only_the_last_page():
    view = ListView()
    view.add(page(1, 2), 3)
    view.add(page(3, 4), 3)  # 1 or 2 went and 4 came meanwhile
    assert not view.whole() and sorted(o["id"] for o in view.objects()) == [3, 4]
    assert view.most == 2 and view.counts_seen == [3]


def test_a_page_with_more_objects_than_its_count_is_never_whole():
    # A broken answer: whatever it holds, it is not the list it counts.
    view = ListView()
    view.add(page(1, 2, 3), 2)
    assert not view.whole()


def test_a_list_that_never_counts_adds_up_its_pages():
    view = ListView()
    view.add(page(1, 2), None)
    view.add(page(3), None)
    assert not view.counted and sorted(o["id"] for o in view.objects()) == [1, 2, 3]


def test_page_repeats_change_the_rhythm_pass_by_pass():
    assert [page_repeats(n) for n in range(7)] == [1, 2, 3, 1, 2, 3, 1]


# ------------------------------------------------------------ the prefix rule


PREFIXED = [
    snap(1, "nightly-1", "2026-11-01T02:00:00Z"),
    snap(2, "pre-nightly-1", "2026-10-01T02:00:00Z"),
    snap(3, "x-nightly-", "2026-10-02T02:00:00Z"),
    snap(4, "nightly-2", "2026-11-02T02:00:00Z"),
    snap(5, "Nightly-0", "2026-09-02T02:00:00Z"),
]


def test_a_prefix_matches_the_start_of_a_name_only():
    assert in_prefix({"name": "nightly-1"}, "name", "nightly-")
    assert not in_prefix({"name": "pre-nightly-1"}, "name", "nightly-")
    assert not in_prefix({"name": "Nightly-1"}, "name", "nightly-")
    assert not in_prefix({"name": None}, "name", "nightly-")
    # The names that hold the prefix elsewhere are older: a substring match would delete them first.
    victims = plan_rotation(PREFIXED, "name", 10, None, "nightly-", keep=1)[0]
    assert ids(victims) == [1]


def test_reuse_looks_at_names_that_start_with_the_prefix_only():
    now = created_epoch({"created_at": "2026-11-03T00:00:00Z"})
    recent = PREFIXED + [snap(6, "manual-nightly-x", "2026-11-02T23:00:00Z")]
    assert newest_reusable(recent, "name", "nightly-", 86400, now)["id"] == 4


# ------------------------------------------------------------ reading several servers


class TornAccount:
    """A client whose account-wide listing never settles while each server's does."""

    def __init__(self, objects):
        self.objects = objects
        self.calls = []

    def list(self, path, params=None, passes=None):
        self.calls.append((path, (params or {}).get("server_id"), passes))
        if not params:
            raise TornListError("torn")
        return [o for o in self.objects if o["server"]["id"] == params["server_id"]]

    def first_page(self, path, params=None):
        # A first page that cannot say how big the account is: read it whole, as before.
        return [], None, True


def test_several_servers_are_read_one_by_one_when_the_account_listing_does_not_settle():
    objects = [{"id": 1, "server": {"id": 101}}, {"id": 2, "server": {"id": 102}}, {"id": 3, "server": {"id": 103}}]
    client = TornAccount(objects)
    lookup = Lookup(client, SNAPSHOT)
    assert lookup.on_servers([101, 102]) == {101: [objects[0]], 102: [objects[1]]}
    # Three passes for the account, then one listing per server; later reads go straight to the servers.
    assert client.calls == [("/snapshots/", None, ACCOUNT_WIDE_PASSES), ("/snapshots/", 101, None),
                            ("/snapshots/", 102, None)]
    assert lookup.on_servers([102]) == {102: [objects[1]]}
    assert client.calls[3:] == [("/snapshots/", 102, None)]


class RefusingAccount(TornAccount):
    """A client whose account-wide listing is refused (a bad token, say)."""

    def list(self, path, params=None, passes=None):
        raise VpsorgApiError("GET %s failed with HTTP 401" % path, status=401)

    first_page = list


def test_an_account_listing_that_fails_otherwise_is_not_hidden():
    client = RefusingAccount([])
    with pytest.raises(VpsorgApiError) as caught:
        Lookup(client, SNAPSHOT).on_servers([101])
    assert caught.value.status == 401


def test_an_account_listing_is_split_by_server():
    objects = [{"id": 1, "server": {"id": 101}}, {"id": 2, "server": {"id": 104}}, {"id": 3, "server": {"id": 101}}]
    assert Lookup.by_server(objects, [101, 102]) == {101: [objects[0], objects[2]], 102: []}


def test_next_links_are_followed_on_the_api_url_only():
    client = VpsorgClient("https://admin.vps.org/api/v1", "token")
    # A service behind a proxy builds next from its own host and scheme: only the path and query are kept.
    assert client._same_origin("http://backend-7:8000/api/v1/snapshots/?page=2") == (
        "https://admin.vps.org/api/v1/snapshots/?page=2")
    assert client._same_origin("/api/v1/snapshots/?page=3") == "https://admin.vps.org/api/v1/snapshots/?page=3"
    assert client._same_origin("https://admin.vps.org/api/v1/snapshots/") == "https://admin.vps.org/api/v1/snapshots/"


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_pace_brings_the_poll_to_the_latest_start_plus_the_shortest_duration_seen():
    clock = FakeClock()
    pace = Pace(clock=clock, margin=1.0)
    for key, at in ((1, 100.0), (2, 104.0), (3, 108.0)):
        clock.now = at
        pace.start(key)
    assert pace.due([1, 2, 3]) is None          # nothing seen ending yet: the backoff decides
    clock.now = 134.0
    pace.ended(1)                               # took at most 34 s
    assert pace.duration == 34.0
    assert pace.due([2, 3]) == (108.0 + 34.0) - 134.0 + 1.0
    clock.now = 139.0
    pace.ended(2)                               # at most 35 s: the shorter bound stays
    assert pace.duration == 34.0
    clock.now = 150.0
    assert pace.due([3]) is None                # overdue against the pace: back to the backoff
    assert pace.due([99]) is None               # an object this task did not start: no pace


def test_pace_ignores_ends_of_operations_it_did_not_start():
    pace = Pace(clock=FakeClock())
    pace.ended(7)
    assert pace.duration is None
