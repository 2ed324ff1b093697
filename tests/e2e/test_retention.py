"""Retention by count and by age, pruning without creating, and reuse of a recent object.

Every test asserts, from the simulator's request log, exactly which ids were deleted.
"""

import os
import subprocess
import sys

import pytest

from conftest import collections_path
from playbook_tasks import requests_of, run_tasks, task_result

HOUR, DAY = 3600, 86400


@pytest.fixture
def sim(vpsorg_sim):
    vpsorg_sim.control.configure(durations={"snapshot": 0, "backup": 0, "restore": 0})
    return vpsorg_sim


def made(sim, kind, server_id, key, age_seconds, **fields):
    """A completed object ``age_seconds`` old, made in the simulator directly (not under test)."""
    state = sim.server.state
    if kind == "snapshot":
        view = state.create_snapshot(server_id, key)
    else:
        view = state.create_backup(server_id, key)
    sim.control.release(finish=True)
    sim.control.backdate(kind, view["id"], age_seconds)
    return view["id"]


def deleted_ids(sim):
    return sorted(int(e["path"].rstrip("/").rsplit("/", 1)[1]) for e in requests_of(sim, "DELETE") if e["status"] == 204)


def prune(playbook, sim, module, rotate, check=False, server_id=101):
    return run_tasks(playbook, sim, """
        - name: Prune
          vpsorg.cloud.%s:
            server_id: %d
            state: absent
            rotate: %s
          register: result
    """ % (module, server_id, rotate), args=("--check", "--diff") if check else ("--diff",))


def mixed_snapshots(sim):
    """Five snapshots of mixed ages on server 101: four of the prefix and one outside it."""
    return {
        "pre-30d": made(sim, "snapshot", 101, "pre-30d", 30 * DAY),
        "pre-20d": made(sim, "snapshot", 101, "pre-20d", 20 * DAY),
        "pre-5d": made(sim, "snapshot", 101, "pre-5d", 5 * DAY),
        "pre-1h": made(sim, "snapshot", 101, "pre-1h", HOUR),
        "keep-me": made(sim, "snapshot", 101, "keep-me", 90 * DAY),
    }


@pytest.mark.parametrize("rotate,gone,reasons", [
    ("{prefix: pre-, keep: 2}", ["pre-30d", "pre-20d"], ["beyond the newest 2", "beyond the newest 2"]),
    ("{prefix: pre-, max_age: 14d}", ["pre-30d", "pre-20d"], ["older than 14d", "older than 14d"]),
    ("{prefix: pre-, keep: 3, max_age: 25d}", ["pre-30d"], ["beyond the newest 3, older than 25d"]),
    ("{prefix: pre-, keep: 1, max_age: 2d}", ["pre-30d", "pre-20d", "pre-5d"],
     ["beyond the newest 1, older than 2d", "beyond the newest 1, older than 2d", "beyond the newest 1, older than 2d"]),
])
def test_prune_snapshots_by_keep_and_age(sim, playbook, rotate, gone, reasons):
    ids = mixed_snapshots(sim)
    sim.control.clear_requests()
    process = prune(playbook, sim, "vpsorg_snapshot", rotate)
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    assert deleted_ids(sim) == sorted(ids[name] for name in gone)
    assert [(d["name"], d["reason"]) for d in result["deleted_snapshots"]] == list(zip(gone, reasons))
    assert requests_of(sim, "POST") == [] and result["changed"]
    assert "keep-me" in result["diff"]["after"]["snapshots"]


def test_check_mode_says_what_would_go_and_deletes_nothing(sim, playbook):
    ids = mixed_snapshots(sim)
    sim.control.clear_requests()
    process = prune(playbook, sim, "vpsorg_snapshot", "{prefix: pre-, keep: 3, max_age: 14d}", check=True)
    result = task_result(process)
    assert result["changed"]
    assert [(d["id"], d["reason"]) for d in result["deleted_snapshots"]] == [
        (ids["pre-30d"], "beyond the newest 3, older than 14d"), (ids["pre-20d"], "older than 14d")]
    assert requests_of(sim, "DELETE") == [] and requests_of(sim, "POST") == []
    assert "older than 14d" in process.stdout  # the diff and the result are in the output


def test_backups_keep_automatic_ones_and_in_progress_ones(sim, playbook):
    old_manual = made(sim, "backup", 101, "daily-old", 20 * DAY)
    made(sim, "backup", 101, "weekly-old", 40 * DAY)
    automatic = sim.server.state.seed_automatic_backup(101, created_at=sim.server.state.clock() - 60 * DAY,
                                                       description="daily-automatic")
    sim.control.hold("backup", 101)
    running = sim.server.state.create_backup(101, "daily-running")
    sim.control.backdate("backup", running["id"], 30 * DAY)
    sim.control.clear_requests()
    process = prune(playbook, sim, "vpsorg_backup", "{prefix: daily-, max_age: 7d}")
    assert process.returncode == 0, process.stdout[-3000:]
    assert deleted_ids(sim) == [old_manual]
    remaining = [b["id"] for b in sim.server.state.list_backups(101)]
    assert automatic["id"] in remaining and running["id"] in remaining


def test_a_created_at_in_the_future_is_never_deleted_for_age(sim, playbook):
    past = made(sim, "snapshot", 101, "pre-past", 10 * DAY)
    future = made(sim, "snapshot", 101, "pre-future", -DAY)
    sim.control.clear_requests()
    process = prune(playbook, sim, "vpsorg_snapshot", "{prefix: pre-, max_age: 1d}")
    assert process.returncode == 0, process.stdout[-3000:]
    assert deleted_ids(sim) == [past]
    assert "never deletes it" in process.stdout and str(future) in process.stdout


def test_create_with_max_age_deletes_after_the_new_one_completed(sim, playbook):
    old = made(sim, "snapshot", 101, "nightly-old", 10 * DAY)
    fresh = made(sim, "snapshot", 101, "nightly-fresh", HOUR)
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: Tonight's snapshot, keeping a week
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: nightly-new
            rotate: {prefix: nightly-, max_age: 7d}
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    assert deleted_ids(sim) == [old] and fresh not in deleted_ids(sim)
    mutations = [e["method"] for e in sim.control.requests() if e["method"] != "GET"]
    assert mutations == ["POST", "DELETE"]


@pytest.mark.parametrize("age,reused", [(2 * HOUR, True), (30 * HOUR, False)])
def test_reuse_within_hit_and_miss(sim, playbook, age, reused):
    made(sim, "backup", 101, "daily-older", 3 * DAY)
    recent = made(sim, "backup", 101, "daily-recent", age)
    sim.control.clear_requests()
    process = run_tasks(playbook, sim, """
        - name: A daily backup from an hourly job
          vpsorg.cloud.vpsorg_backup:
            server_id: 101
            description: daily-{{ 999999 | random }}
            reuse_within: 23h
            rotate: {prefix: daily-, keep: 5}
          register: result
    """)
    assert process.returncode == 0, process.stdout[-3000:]
    result = task_result(process)
    posts = requests_of(sim, "POST")
    if reused:
        assert not result["changed"] and result["reused"] and result["backup"]["id"] == recent
        assert posts == []
    else:
        assert result["changed"] and "reused" not in result and len(posts) == 1
    assert requests_of(sim, "DELETE") == []


@pytest.mark.parametrize("rotate,message", [
    ("{prefix: pre-}", "rotate needs keep, max_age or both"),
    ("{prefix: pre-, max_age: fortnight}", "is not a duration"),
])
def test_bad_retention_options_send_nothing(sim, playbook, rotate, message):
    process = run_tasks(playbook, sim, """
        - name: Bad retention
          vpsorg.cloud.vpsorg_snapshot:
            server_id: 101
            name: pre-x
            rotate: %s
          register: result
          ignore_errors: true
    """ % rotate)
    result = task_result(process)
    assert result["failed"] and message in result["msg"]
    assert sim.control.requests() == []


def test_the_prune_playbooks_take_keep_and_max_age(sim, playbook, tmp_path):
    old = made(sim, "backup", 101, "daily-old", 20 * DAY)
    made(sim, "backup", 101, "daily-new", HOUR)
    old_snapshot = made(sim, "snapshot", 101, "pre-old", 20 * DAY)
    newer_snapshots = [made(sim, "snapshot", 101, "pre-%d" % n, n * HOUR) for n in (3, 2, 1)]
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("web-01 ansible_connection=local vpsorg_server_id=101\n")
    env = {"VPSORG_API_URL": sim.api_url, "VPSORG_API_TOKEN": sim.token}
    sim.control.clear_requests()
    backups = playbook_by_name("prune_backups", inventory, env, "-e", "prefix=daily-", "-e", "max_age=7d")
    assert backups.returncode == 0, backups.stdout[-3000:]
    assert deleted_ids(sim) == [old]
    sim.control.clear_requests()
    snapshots = playbook_by_name("prune_snapshots", inventory, env, "-e", "prefix=pre-", "-e", "keep=2",
                                 "-e", "max_age=7d")
    assert snapshots.returncode == 0, snapshots.stdout[-3000:]
    assert deleted_ids(sim) == sorted([old_snapshot, newer_snapshots[0]])
    # One listing of the server, then one DELETE per object that goes.
    assert [e["method"] for e in sim.control.requests()] == ["GET", "DELETE", "DELETE"]


def playbook_by_name(name, inventory, env, *extra):
    """Run the collection's playbook ``vpsorg.cloud.<name>``."""
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
               "vpsorg.cloud.%s" % name] + list(extra)
    full_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1", **env)
    return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=300, check=False)
