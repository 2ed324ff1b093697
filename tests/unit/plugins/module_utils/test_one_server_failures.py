"""A one-server task is a fleet of one: a failed server sends nothing more, and the task ends with today's result."""

from __future__ import annotations

from ansible_collections.vpsorg.cloud.plugins.module_utils.client import VpsorgApiError
from ansible_collections.vpsorg.cloud.plugins.modules.vpsorg_snapshot import SnapshotModule

from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.fake_api import FakeApi, run_module

SNAPSHOTS = "/snapshots/"
LIST = ("GET", SNAPSHOTS)
POST = ("POST", SNAPSHOTS)


class VanishingApi(FakeApi):
    """Objects in progress vanish at the ``vanish_at``-th list read; a DELETE of one in progress is refused (409)."""

    def __init__(self, vanish_at):
        super().__init__()
        self.vanish_at = vanish_at
        self.reads = 0

    def list(self, path, params=None, passes=None):
        self.reads += 1
        if self.reads == self.vanish_at:
            for object_id in [i for i, o in self.objects[path].items() if o["status"] == "in_progress"]:
                del self.objects[path][object_id]
        return super().list(path, params, passes)

    def delete(self, path, missing_ok=False):
        object_id = int(path.rstrip("/").rsplit("/", 1)[1])
        if self.objects[SNAPSHOTS].get(object_id, {}).get("status") == "in_progress":
            self._record("DELETE", path)
            raise VpsorgApiError("DELETE %s failed with HTTP 409: in progress" % path, method="DELETE", path=path,
                                 status=409)
        return super().delete(path, missing_ok)


def test_a_failed_create_after_forced_deletions_reports_them_at_the_top_level(api, capsys):
    for number in range(5):
        api.add(SNAPSHOTS, 101, name="r-%d" % number)
    api.faults.append(("POST", SNAPSHOTS, "400"))
    result = run_module(SnapshotModule, api, capsys, server_id=101, name="r-new", rotate={"prefix": "r-", "keep": 5})
    assert api.log == [LIST, ("DELETE", "/snapshots/801/"), POST]
    assert result["failed"] and result["changed"] and "results" not in result
    assert result["msg"] == result["api_error"]["message"] == "POST /snapshots/ failed with HTTP 400: Server not found."
    assert result["snapshot"] is None and result["deleted_before_create"] is True
    assert [(d["id"], d["reason"]) for d in result["deleted_snapshots"]] == [(801, "beyond the newest 5")]
    assert result["api_calls"] == 3


def test_an_object_gone_during_the_wait_fails_the_task_with_its_last_sighting(capsys):
    api = VanishingApi(vanish_at=3)
    api.in_progress_reads = None
    result = run_module(SnapshotModule, api, capsys, server_id=101, name="gone")
    # The first look, the create, the look for a twin, then the poll that finds it gone: nothing after it.
    assert api.log == [LIST, POST, LIST, LIST]
    assert result["failed"] and result["changed"] and result["msg"] == "Snapshot 801 disappeared while waiting for it."
    assert result["snapshot"]["id"] == 801 and result["snapshot"]["status"] == "in_progress"
    assert result["deleted_snapshots"] == [] and result["deleted_before_create"] is False


def racer_comes_first(api):
    """Just after this task's create is carried out, a racer's older object with the same name appears."""

    def carried_out():
        own = api.objects[SNAPSHOTS][max(api.objects[SNAPSHOTS])]
        racer = api.add(SNAPSHOTS, 101, name="race")
        racer["created_at"], own["created_at"] = own["created_at"], racer["created_at"]

    api.on_carried_out = carried_out


def test_a_failed_wait_for_a_duplicate_ends_a_one_server_task_but_a_fleet_goes_on(capsys):
    # This task's copy (801) is the duplicate: its DELETE is refused while in progress, and it vanishes during the wait.
    single = VanishingApi(vanish_at=3)
    single.in_progress_reads = None
    racer_comes_first(single)
    result = run_module(SnapshotModule, single, capsys, server_id=101, name="race")
    assert single.log == [LIST, POST, LIST, ("DELETE", "/snapshots/801/"), LIST]
    assert result["failed"] and result["msg"] == "Snapshot 801 disappeared while waiting for it."
    assert result["snapshot"]["id"] == 801

    fleet = VanishingApi(vanish_at=3)
    fleet.in_progress_reads = None
    racer_comes_first(fleet)
    result = run_module(SnapshotModule, fleet, capsys, server_ids=[101], name="race")
    assert fleet.log == [LIST, POST, LIST, ("DELETE", "/snapshots/801/"), LIST, ("DELETE", "/snapshots/801/")]
    assert not result.get("failed") and result["results"][0]["snapshot"]["id"] == 802
