"""The module engine on its own: every branch against an in-memory API, asserting the exact calls."""

from __future__ import annotations

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils.restore import RestoreModule
from ansible_collections.vpsorg.cloud.plugins.modules.vpsorg_backup import BackupModule
from ansible_collections.vpsorg.cloud.plugins.modules.vpsorg_snapshot import SnapshotModule

from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.fake_api import run_module, warning_texts

SNAPSHOTS = "/snapshots/"
BACKUPS = "/backups/"
LIST = ("GET", SNAPSHOTS)
POST = ("POST", SNAPSHOTS)


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
    assert api.log == [LIST]


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
])
def test_bad_input_fails_before_any_call(api, capsys, params, message):
    result = snapshot(api, capsys, **params)
    assert result["failed"] and message in result["msg"]
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
