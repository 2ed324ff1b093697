"""The module engine on its own: every branch against an in-memory API, asserting the exact calls."""

from __future__ import annotations

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils.client import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.module_utils.restore import RestoreModule
from ansible_collections.vpsorg.cloud.plugins.modules.vpsorg_backup import BackupModule
from ansible_collections.vpsorg.cloud.plugins.modules.vpsorg_snapshot import SnapshotModule

from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.fake_api import run_module, warning_texts

SNAPSHOTS = "/snapshots/"
BACKUPS = "/backups/"
LIST = ("GET", SNAPSHOTS)
POST = ("POST", SNAPSHOTS)
SERVER_101 = ("GET", "/servers/101/")


def snapshot(api, capsys, **params):
    return run_module(SnapshotModule, api, capsys, **params)


def delete_of(object_id):
    return ("DELETE", "%s%d/" % (SNAPSHOTS, object_id))


# ------------------------------------------------------------ ensure_present

def test_creates_once_then_finds_it(api, capsys):
    created = snapshot(api, capsys, server_id=101, name="n")
    assert created["changed"] and created["snapshot"]["status"] == "completed"
    # Look for the key, create, look again for a racing twin (which also shows it completed).
    assert api.log == [LIST, POST, LIST]
    api.log = []
    again = snapshot(api, capsys, server_id=101, name="n")
    assert not again["changed"] and again["snapshot"]["id"] == created["snapshot"]["id"]
    assert api.log == [LIST]


def test_a_slow_create_is_polled_until_completed(api, capsys):
    api.in_progress_reads = 3
    created = snapshot(api, capsys, server_id=101, name="n")
    assert created["snapshot"]["status"] == "completed"
    # The first look, the look for a twin and the first poll see it in progress; the second poll sees it completed.
    assert api.log == [LIST, POST, LIST, LIST, LIST]


def test_a_failed_poll_does_not_end_the_wait(api, capsys):
    api.in_progress_reads = 2
    real_list = api.list

    def first_poll_fails(path, params=None, passes=None):
        if api.log.count(LIST) == 2:
            api.log.append(LIST)
            raise VpsorgApiError("GET %s failed with HTTP 503" % path, method="GET", path=path, status=503)
        return real_list(path, params, passes)

    api.list = first_poll_fails
    created = snapshot(api, capsys, server_id=101, name="n")
    assert created["changed"] and created["snapshot"]["status"] == "completed"
    # The look, the create, the look for a twin (in progress), a poll that fails, a poll that sees it completed.
    assert api.log == [LIST, POST, LIST, LIST, LIST]


def test_a_wait_that_times_out_keeps_the_id_and_status(api, capsys):
    api.in_progress_reads = None
    result = snapshot(api, capsys, server_id=101, name="n", wait_timeout=1)
    assert result["failed"] and "Timed out after 1 s" in result["msg"]
    assert result["snapshot"]["status"] == "in_progress" and result["api_error"]["reason"] == "wait_timeout"
    assert result["changed"]


def test_without_wait_it_returns_in_progress(api, capsys):
    api.in_progress_reads = None
    result = snapshot(api, capsys, server_id=101, name="n", wait=False)
    assert result["changed"] and result["snapshot"]["status"] == "in_progress"
    assert api.log == [LIST, POST, LIST]


def test_check_mode_plans_without_sending(api, capsys):
    result = run_module(SnapshotModule, api, capsys, check_mode=True, server_id=101, name="n")
    assert result["changed"] and result["snapshot"]["status"] == "in_progress"
    # The server has no snapshot to prove it exists: one read of the server does.
    assert api.log == [LIST, SERVER_101]


def test_check_mode_needs_no_read_of_a_server_its_listing_shows(api, capsys):
    api.add(SNAPSHOTS, 101, name="other")
    result = run_module(SnapshotModule, api, capsys, check_mode=True, server_id=101, name="n")
    assert result["changed"] and api.log == [LIST]


@pytest.mark.parametrize("module", [SnapshotModule, BackupModule])
def test_check_mode_fails_on_a_server_that_does_not_exist(api, capsys, module):
    key = {"name": "n"} if module is SnapshotModule else {"description": "n"}
    result = run_module(module, api, capsys, check_mode=True, server_id=999, **key)
    assert result["failed"] and not result["changed"]
    assert result["msg"].startswith("Server 999 does not exist") and "Nothing would be created" in result["msg"]
    assert api.log == [("GET", module.kind.path), ("GET", "/servers/999/")]


def test_check_mode_in_a_fleet_fails_only_the_missing_server(api, capsys):
    result = run_module(SnapshotModule, api, capsys, check_mode=True, server_ids=[101, 999], name="n")
    assert result["failed"] and "1 of 2 servers failed" in result["msg"]
    assert [(r["server_id"], r["changed"], bool(r.get("failed"))) for r in result["results"]] == [
        (101, True, False), (999, False, True)]
    assert api.log == [LIST, SERVER_101, ("GET", "/servers/999/")]


def test_an_existing_id_is_settled_and_a_missing_one_fails(api, capsys):
    existing = api.add(SNAPSHOTS, 101, name="x", status="in_progress")
    assert snapshot(api, capsys, snapshot_id=existing["id"])["snapshot"]["status"] == "completed"
    missing = snapshot(api, capsys, snapshot_id=999)
    assert missing["failed"] and "Snapshot 999 does not exist" in missing["msg"]


def test_ambiguous_key_fails_naming_both(api, capsys):
    first = api.add(SNAPSHOTS, 101, name="twin")
    second = api.add(SNAPSHOTS, 101, name="twin")
    result = snapshot(api, capsys, server_id=101, name="twin")
    assert result["failed"] and "2 snapshots on server 101" in result["msg"]
    assert "id %d" % first["id"] in result["msg"] and "id %d" % second["id"] in result["msg"]
    assert api.log == [LIST]


def test_a_failed_object_fails_the_task(api, capsys):
    api.add(SNAPSHOTS, 101, name="bad", status="failed")
    result = snapshot(api, capsys, server_id=101, name="bad")
    assert result["failed"] and "ended with status 'failed'" in result["msg"]


def test_a_refused_create_is_not_a_change(api, capsys):
    api.faults.append(("POST", SNAPSHOTS, "400"))
    result = snapshot(api, capsys, server_id=101, name="n")
    assert result["failed"] and not result["changed"]


def test_a_create_answered_404_names_the_server(api, capsys):
    api.faults.append(("POST", SNAPSHOTS, "404"))
    result = snapshot(api, capsys, server_id=101, name="n")
    assert result["failed"] and not result["changed"]
    assert result["msg"] == ("Server 101 does not exist, or this API token cannot see it: POST /snapshots/ failed with "
                             "HTTP 404: Server not found. Nothing was created.")


# ------------------------------------------------------------ create reconciliation

def test_a_lost_answer_is_found_not_sent_again(api, capsys):
    api.faults.append(("POST", SNAPSHOTS, "lose_answer"))
    result = snapshot(api, capsys, server_id=101, name="n")
    assert result["changed"] and len(api.ids(SNAPSHOTS)) == 1
    assert api.log.count(POST) == 1


def test_a_refused_post_in_doubt_is_sent_again_after_looking(api, capsys):
    api.faults.append(("POST", SNAPSHOTS, "refuse"))
    result = snapshot(api, capsys, server_id=101, name="n")
    assert result["changed"] and len(api.ids(SNAPSHOTS)) == 1
    assert api.log[:4] == [LIST, POST, LIST, POST]


def test_a_lost_answer_without_a_key_cannot_be_reconciled(api, capsys):
    api.faults.append(("POST", BACKUPS, "lose_answer"))
    result = run_module(BackupModule, api, capsys, server_id=101)
    assert result["failed"] and "cannot be told apart" in result["msg"]


def test_a_same_key_race_converges_on_the_oldest(api, capsys):
    rival = {}

    def racing_task_posts_first(path, body):
        api.on_post = None
        rival.update(api.add(path, body["server_id"], status="in_progress", name=body["name"]))

    api.on_post = racing_task_posts_first
    result = snapshot(api, capsys, server_id=101, name="shared")
    assert api.ids(SNAPSHOTS) == [rival["id"]]
    assert result["snapshot"]["id"] == rival["id"] and not result["changed"]
    assert delete_of(rival["id"] + 1) in api.log
    assert any("at the same time" in w for w in warning_texts(result))


def racing_task_posts(api, after_ours=False):
    """Another task creates the same key at the same moment: just before this task's POST, or just after it."""
    rival = {}

    def post(path, body):
        api.on_post = None
        if after_ours:
            api.on_carried_out = lambda: rival.update(api.add(path, body["server_id"], status="in_progress",
                                                              name=body["name"]))
        else:
            rival.update(api.add(path, body["server_id"], status="in_progress", name=body["name"]))

    api.on_post = post
    return rival


def test_a_race_this_task_won_keeps_its_own_object(api, capsys):
    rival = racing_task_posts(api, after_ours=True)
    result = snapshot(api, capsys, server_id=101, name="shared")
    own = rival["id"] - 1
    # Its own is the oldest: it keeps it, and leaves the newer one to the task that made it.
    assert result["changed"] and result["snapshot"]["id"] == own
    assert api.log == [LIST, POST, LIST] and sorted(api.ids(SNAPSHOTS)) == [own, rival["id"]]
    assert not any("at the same time" in w for w in warning_texts(result)), warning_texts(result)


def test_a_lost_create_with_one_match_takes_it_as_its_own(api, capsys):
    api.faults.append(("POST", SNAPSHOTS, "lose_answer"))
    result = snapshot(api, capsys, server_id=101, name="n")
    assert result["changed"] and result["snapshot"]["id"] == api.ids(SNAPSHOTS)[0] == 801
    # Look, create (answer lost), look for what it made, look for a racing twin.
    assert api.log == [LIST, POST, LIST, LIST]


def test_a_lost_create_among_racers_keeps_the_oldest_and_leaves_no_duplicate(api, capsys):
    # One racer made 801 before this task's POST, another 803 after it; this task's own is 802, unanswered.
    api.faults.append(("POST", SNAPSHOTS, "lose_answer"))
    first = {}

    def racers(path, body):
        api.on_post = None
        first.update(api.add(path, 101, status="in_progress", name=body["name"]))
        api.on_carried_out = lambda: api.add(path, 101, status="in_progress", name=body["name"])

    api.on_post = racers
    result = snapshot(api, capsys, server_id=101, name="shared")
    assert first["id"] == 801 and api.ids(SNAPSHOTS) == [801]
    assert result["snapshot"]["id"] == 801 and result["changed"]
    # The look after the lost answer finds three; which is its own cannot be told: the newer two go.
    assert api.log == [LIST, POST, LIST, LIST, delete_of(802), delete_of(803)]
    warning = next(w for w in warning_texts(result) if "was lost" in w)
    assert "(ids 801, 802, 803)" in warning and "keeps the oldest (id 801)" in warning and "(ids 802, 803)" in warning


def test_a_task_whose_copy_a_racer_removed_carries_on_with_the_survivor(api, capsys):
    rival = racing_task_posts(api)
    real_list = api.list

    def racer_removes_ours_before_our_second_look(path, params=None, passes=None):
        if api.log.count(POST):
            api.objects[SNAPSHOTS].pop(rival["id"] + 1, None)
        return real_list(path, params, passes)

    api.list = racer_removes_ours_before_our_second_look
    result = snapshot(api, capsys, server_id=101, name="shared")
    assert result["snapshot"]["id"] == rival["id"] and result["snapshot"]["status"] == "completed"
    assert not result["changed"] and api.log == [LIST, POST, LIST]
    assert any("removed this task's copy (id %d)" % (rival["id"] + 1) in w for w in warning_texts(result))


# ------------------------------------------------------------ rotation

def test_rotation_with_room_deletes_after_the_new_one_completed(api, capsys):
    old = [api.add(SNAPSHOTS, 101, name="pre-%d" % n) for n in (1, 2)]
    result = snapshot(api, capsys, server_id=101, name="pre-3", rotate={"prefix": "pre-", "keep": 2})
    assert not result["deleted_before_create"]
    assert [s["name"] for s in result["deleted_snapshots"]] == ["pre-1"]
    assert api.log.index(delete_of(old[0]["id"])) > api.log.index(POST)
    assert delete_of(old[1]["id"]) not in api.log


def test_rotation_without_wait_defers_its_deletes(api, capsys):
    api.in_progress_reads = None
    api.add(SNAPSHOTS, 101, name="pre-1")
    api.add(SNAPSHOTS, 101, name="pre-2")
    result = snapshot(api, capsys, server_id=101, name="pre-3", wait=False, rotate={"prefix": "pre-", "keep": 2})
    assert result["deleted_snapshots"] == [] and not any(c[0] == "DELETE" for c in api.log)
    assert any("rotation deleted nothing yet" in w for w in warning_texts(result))


def test_rotation_at_the_limit_deletes_first(api, capsys):
    old = [api.add(SNAPSHOTS, 101, name=n) for n in ("pre-1", "pre-2", "pre-3", "a", "b")]
    result = snapshot(api, capsys, server_id=101, name="pre-4", rotate={"prefix": "pre-", "keep": 2})
    assert result["deleted_before_create"]
    # The look for a racing twin shows the new one completed, and its listing plans the rest of the rotation.
    assert api.log == [LIST, delete_of(old[0]["id"]), POST, LIST, delete_of(old[1]["id"])]


def test_rotation_never_touches_objects_in_progress(api, capsys):
    api.in_progress_reads = None
    api.add(SNAPSHOTS, 101, name="pre-1", status="in_progress")
    api.add(SNAPSHOTS, 101, name="pre-2")
    result = run_module(SnapshotModule, api, capsys, check_mode=True, server_id=101, name="pre-3",
                        rotate={"prefix": "pre-", "keep": 1})
    assert [s["name"] for s in result["deleted_snapshots"]] == ["pre-2"]


def test_rotation_that_cannot_make_room_sends_nothing(api, capsys):
    for name in ("a", "b", "c", "d", "e"):
        api.add(SNAPSHOTS, 101, name=name)
    result = snapshot(api, capsys, server_id=101, name="pre-1", rotate={"prefix": "pre-", "keep": 1})
    assert result["failed"] and len(result["blocking_objects"]) == 5
    assert api.log == [LIST]


def test_a_re_run_applies_rotation_the_first_run_deferred(api, capsys):
    for name in ("pre-1", "pre-2", "pre-3"):
        api.add(SNAPSHOTS, 101, name=name)
    first = api.ids(SNAPSHOTS)[0]
    result = snapshot(api, capsys, server_id=101, name="pre-3", rotate={"prefix": "pre-", "keep": 2})
    assert result["changed"] and [s["name"] for s in result["deleted_snapshots"]] == ["pre-1"]
    # One listing finds pre-3 completed and plans the rotation.
    assert api.log == [LIST, delete_of(first)]


def test_rotation_after_a_wait_plans_from_the_poll_that_saw_it_completed(api, capsys):
    api.in_progress_reads = 3
    old = [api.add(SNAPSHOTS, 101, name="pre-%d" % n) for n in (1, 2)]
    snapshot(api, capsys, server_id=101, name="pre-3", rotate={"prefix": "pre-", "keep": 2})
    assert api.log == [LIST, POST, LIST, LIST, LIST, delete_of(old[0]["id"])]


# ------------------------------------------------------------ ensure_absent

def test_absent_by_name_and_the_delete_race(api, capsys):
    target = api.add(SNAPSHOTS, 101, name="gone")
    result = snapshot(api, capsys, server_id=101, name="gone", state="absent")
    assert result["changed"] and result["deleted_snapshots"][0]["id"] == target["id"]
    api.objects[SNAPSHOTS][target["id"]] = target
    real_delete = api.delete

    def someone_else_deleted_it_first(path, missing_ok=False):
        api.objects[SNAPSHOTS].clear()
        return real_delete(path, missing_ok)

    api.delete = someone_else_deleted_it_first
    raced = snapshot(api, capsys, server_id=101, name="gone", state="absent")
    assert not raced["changed"] and raced["deleted_snapshots"] == []


def test_absent_by_id_refuses_another_servers_object(api, capsys):
    other = api.add(SNAPSHOTS, 102, name="theirs")
    result = snapshot(api, capsys, snapshot_id=other["id"], server_id=101, state="absent")
    assert result["failed"] and "belongs to server 102" in result["msg"]
    assert not any(c[0] == "DELETE" for c in api.log)


LOST = "answer to the DELETE was lost"


def test_a_delete_by_name_whose_answer_was_lost_is_this_tasks(api, capsys):
    target = api.add(SNAPSHOTS, 101, name="gone")
    api.faults.append(("DELETE", SNAPSHOTS, "lose_answer"))
    result = snapshot(api, capsys, server_id=101, name="gone", state="absent")
    assert result["changed"] and [(d["id"], LOST in d["note"]) for d in result["deleted_snapshots"]] == [
        (target["id"], True)]
    assert any(LOST in w for w in warning_texts(result)) and api.ids(SNAPSHOTS) == []


def test_a_delete_by_id_whose_answer_was_lost_is_this_tasks(api, capsys):
    target = api.add(SNAPSHOTS, 101, name="gone")
    api.faults.append(("DELETE", SNAPSHOTS, "lose_answer"))
    result = snapshot(api, capsys, snapshot_id=target["id"], state="absent")
    assert result["changed"] and [d["id"] for d in result["deleted_snapshots"]] == [target["id"]]
    assert LOST in result["deleted_snapshots"][0]["note"] and api.log == [delete_of(target["id"])]


def test_rotation_and_prune_count_deletes_whose_answer_was_lost(api, capsys):
    old = [api.add(SNAPSHOTS, 101, name="pre-%d" % n) for n in (1, 2, 3)]
    api.faults.append(("DELETE", SNAPSHOTS, "lose_answer"))
    rotated = snapshot(api, capsys, server_id=101, name="pre-4", rotate={"prefix": "pre-", "keep": 3})
    assert [(d["id"], d["reason"], LOST in d["note"]) for d in rotated["deleted_snapshots"]] == [
        (old[0]["id"], "beyond the newest 3", True)]
    api.faults.append(("DELETE", SNAPSHOTS, "lose_answer"))
    pruned = snapshot(api, capsys, server_id=101, state="absent", rotate={"prefix": "pre-", "keep": 2})
    # Its only victim met a lost answer: still a change, and the diff shows it gone.
    assert pruned["changed"] and [d["id"] for d in pruned["deleted_snapshots"]] == [old[1]["id"]]
    assert LOST in pruned["deleted_snapshots"][0]["note"]


def test_a_delete_someone_else_made_is_not_this_tasks(api, capsys):
    target = api.add(SNAPSHOTS, 101, name="pre-1")
    api.add(SNAPSHOTS, 101, name="pre-2")
    api.add(SNAPSHOTS, 101, name="pre-3")
    real_delete = api.delete

    def deleted_by_someone_else_first(path, missing_ok=False):
        api.objects[SNAPSHOTS].pop(target["id"], None)
        return real_delete(path, missing_ok)

    api.delete = deleted_by_someone_else_first
    pruned = snapshot(api, capsys, server_id=101, state="absent", rotate={"prefix": "pre-", "keep": 2})
    assert not pruned["changed"] and pruned["deleted_snapshots"] == []


# ------------------------------------------------------------ validate

@pytest.mark.parametrize("params,message", [
    (dict(server_id=101, name="n", wait_timeout=0), "wait_timeout must be at least 1"),
    (dict(server_id=101, name="n", wait=False, wait_timeout=-1), "must not be negative"),
    (dict(server_id=0, name="n"), "server_id must be a positive id"),
    (dict(snapshot_id=-2, state="absent"), "snapshot_id must be a positive id"),
    (dict(server_id=101, name="n", rotate={"prefix": "", "keep": 2}), "must not be empty"),
    (dict(server_id=101, name="n", rotate={"prefix": "p", "keep": 6}), "between 1 and 5"),
    (dict(server_id=101, name="has space"), "not a valid snapshot name"),
    (dict(state="absent", name="n"), "needs server_id and name"),
    (dict(server_id=True, name="n"), "server_id must be a positive id (1 or more), got the boolean True"),
    (dict(server_ids=[101, False], name="n"), "server_ids must hold server ids (integers of 1 or more), got the boolean"),
    (dict(server_ids=[101, 0], name="n"), "server_ids must hold server ids (integers of 1 or more), got 0"),
    (dict(snapshot_id=True, state="absent"), "snapshot_id must be a positive id (1 or more), got the boolean True"),
])
def test_bad_input_fails_before_any_call(api, capsys, params, message):
    result = snapshot(api, capsys, **params)
    assert result["failed"] and message in result["msg"]
    assert api.log == []


def test_reuse_within_is_refused_with_state_absent(api, capsys):
    result = run_module(BackupModule, api, capsys, server_id=101, state="absent", reuse_within="1d",
                        rotate={"prefix": "daily-", "keep": 2})
    assert result["failed"] and "reuse_within only applies to state=present" in result["msg"]
    assert api.log == []


# ------------------------------------------------------------ restore

def restore(api, capsys, **params):
    return run_module(RestoreModule, api, capsys, **params)


def test_restore_checks_its_source_before_sending(api, capsys):
    theirs = api.add(BACKUPS, 102, backup_type="manual", description="theirs")
    unfinished = api.add(SNAPSHOTS, 101, name="unfinished", status="in_progress")
    api.in_progress_reads = None
    cross = restore(api, capsys, server_id=101, backup_id=theirs["id"])
    assert cross["failed"] and "allow_cross_server" in cross["msg"]
    not_ready = restore(api, capsys, server_id=101, snapshot_id=unfinished["id"])
    assert not_ready["failed"] and "not completed" in not_ready["msg"]
    foreign = api.add(SNAPSHOTS, 102, name="foreign")
    own_only = restore(api, capsys, server_id=101, snapshot_id=foreign["id"])
    assert own_only["failed"] and "only restores its own server" in own_only["msg"]
    assert not any(c[0] == "POST" for c in api.log)


def test_restore_after_an_answer_in_doubt(api, capsys):
    good = api.add(SNAPSHOTS, 101, name="good")
    restore_post = ("POST", "/snapshots/%d/restore/" % good["id"])
    api.restores_end = False
    api.faults.append(restore_post + ("lose_answer",))
    carried_out = restore(api, capsys, server_id=101, snapshot_id=good["id"], wait=False)
    assert carried_out["restore_started"] and api.log.count(restore_post) == 1
    api.servers[101]["status"] = "running"
    api.log = []
    api.faults.append(restore_post + ("refuse",))
    refused = restore(api, capsys, server_id=101, snapshot_id=good["id"], wait=False)
    assert refused["restore_started"] and api.log.count(restore_post) == 2


def test_a_server_that_cannot_be_restored_is_named(api, capsys):
    good = api.add(SNAPSHOTS, 101, name="good")
    api.servers[101]["status"] = "error"
    api.faults.append(("POST", "/snapshots/%d/restore/" % good["id"], "400"))
    result = restore(api, capsys, server_id=101, snapshot_id=good["id"])
    assert result["failed"] and "The server's status is 'error'" in result["msg"] and not result["changed"]


def test_a_server_already_restoring_gets_no_second_restore(api, capsys):
    good = api.add(SNAPSHOTS, 101, name="good")
    api.servers[101]["status"] = "restoring"
    api.restores_end = False
    result = restore(api, capsys, server_id=101, snapshot_id=good["id"], wait=False)
    assert not result["changed"] and not result["restore_started"]
    assert any("already being restored" in w for w in warning_texts(result))
    assert not any(c[0] == "POST" for c in api.log)


# ------------------------------------------------------------ backups: manual ones only


def test_automatic_backups_neither_match_a_key_nor_count_towards_the_limit(api, capsys):
    automatic = [api.add(BACKUPS, 101, backup_type="automatic", description="nightly") for _n in range(10)]
    result = run_module(BackupModule, api, capsys, server_id=101, description="nightly",
                        rotate={"prefix": "nightly", "keep": 1})
    assert result["changed"] and result["backup"]["id"] not in [b["id"] for b in automatic]
    assert result["deleted_backups"] == [] and not result["deleted_before_create"]
    assert [c[0] for c in api.log] == ["GET", "POST", "GET"]


# ------------------------------------------------------------ reads


def test_a_listing_the_api_did_not_filter_is_filtered_again(api, capsys):
    theirs = api.add(SNAPSHOTS, 102, name="shared")
    api.ignore_filters = True
    result = snapshot(api, capsys, server_id=101, name="shared")
    assert result["changed"] and result["snapshot"]["id"] != theirs["id"]
    assert api.log == [LIST, POST, LIST]


# ----------------------------------------------------- edge cases a mutation pass found unpinned


def test_check_mode_rotation_with_nothing_to_delete_is_not_a_change(api, capsys):
    api.add(SNAPSHOTS, 101, name="daily-1")
    result = run_module(SnapshotModule, api, capsys, check_mode=True, server_id=101, name="daily-1",
                        rotate={"prefix": "daily-", "keep": 2})
    assert not result["changed"] and result["deleted_snapshots"] == []


def test_prune_in_check_mode_reports_and_deletes_nothing(api, capsys):
    for n in (1, 2, 3):
        api.add(SNAPSHOTS, 101, name="d%d" % n)
    result = run_module(SnapshotModule, api, capsys, check_mode=True, server_id=101, state="absent",
                        rotate={"prefix": "d", "keep": 1})
    assert result["changed"] and [s["name"] for s in result["deleted_snapshots"]] == ["d1", "d2"]
    assert not any(c[0] == "DELETE" for c in api.log) and len(api.ids(SNAPSHOTS)) == 3


def test_a_server_named_twice_in_server_ids_gets_one_object(api, capsys):
    result = run_module(SnapshotModule, api, capsys, server_ids=[101, 101], name="n")
    assert api.log.count(("POST", SNAPSHOTS)) == 1 and len(result["results"]) == 1


def test_cross_server_snapshot_is_refused_even_with_allow_cross_server(api, capsys):
    foreign = api.add(SNAPSHOTS, 102, name="foreign")
    result = restore(api, capsys, server_id=101, snapshot_id=foreign["id"], allow_cross_server=True)
    assert result["failed"] and "only restores its own server" in result["msg"]
    assert not any(c[0] == "POST" for c in api.log)


def test_source_server_id_does_not_bypass_the_owner_check(api, capsys):
    theirs = api.add(BACKUPS, 102, backup_type="manual", description="theirs")
    result = restore(api, capsys, server_id=101, backup_id=theirs["id"], source_server_id=102)
    assert result["failed"] and "allow_cross_server" in result["msg"]
    assert not any(c[0] == "POST" for c in api.log)


def test_a_refused_restore_of_a_stopped_server_keeps_the_apis_reason(api, capsys):
    good = api.add(SNAPSHOTS, 101, name="good")
    api.servers[101]["status"] = "stopped"
    api.faults.append(("POST", "/snapshots/%d/restore/" % good["id"], "400"))
    result = restore(api, capsys, server_id=101, snapshot_id=good["id"])
    assert result["failed"] and "HTTP 400" in result["msg"] and "The server's status is" not in result["msg"]
