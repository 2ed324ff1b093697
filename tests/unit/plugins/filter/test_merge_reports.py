"""The filter merge_reports: the reports of several jobs over one fleet become one summary."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.vpsorg.cloud.plugins.filter.merge_reports import FilterModule, merge_reports


def report(run_id, generated_at, hosts, dry_run=False):
    return {"run_id": run_id, "dry_run": dry_run, "generated_at": generated_at, "statuses": {"ignored": 1},
            "hosts": {name: {"host": name, "status": status, "run_id": run_id} for name, status in hosts.items()}}


SLICE_1 = report("5001", "2026-12-01T10:00:05Z", {"web-01": "patched", "web-03": "rolled_back"})
SLICE_2 = report("5002", "2026-12-01T10:00:02Z", {"web-02": "patched", "web-04": "unresolved"})


def test_slices_make_one_fleet():
    fleet = merge_reports([SLICE_1, SLICE_2], sources=["slice 1", "slice 2"])
    assert list(fleet["hosts"]) == ["web-01", "web-02", "web-03", "web-04"]
    assert fleet["hosts"]["web-03"] == {"host": "web-03", "status": "rolled_back", "run_id": "5001", "source": "slice 1"}
    assert fleet["total_hosts"] == 4
    # Counted from the hosts, not copied from each report's own counts.
    assert fleet["statuses"] == {"patched": 2, "rolled_back": 1, "unresolved": 1}
    assert fleet["needs_attention"] == ["web-03", "web-04"]
    assert fleet["duplicates"] == {}
    assert fleet["run_ids"] == ["5001", "5002"]
    assert fleet["dry_run"] is False
    assert fleet["reports"] == [
        {"source": "slice 1", "run_id": "5001", "generated_at": "2026-12-01T10:00:05Z", "dry_run": False, "hosts": 2,
         "statuses": {"patched": 1, "rolled_back": 1}},
        {"source": "slice 2", "run_id": "5002", "generated_at": "2026-12-01T10:00:02Z", "dry_run": False, "hosts": 2,
         "statuses": {"patched": 1, "unresolved": 1}},
    ]
    # The inputs are not changed.
    assert "source" not in SLICE_1["hosts"]["web-01"]


def test_a_host_in_two_reports_is_a_duplicate_and_the_newer_entry_wins():
    rerun = report("5003", "2026-12-01T10:30:00+00:00", {"web-03": "patched"})
    fleet = merge_reports([rerun, SLICE_1, SLICE_2], sources=["rerun", "slice 1", "slice 2"])
    assert fleet["duplicates"] == {"web-03": ["rerun", "slice 1"]}
    # 10:30 with an offset is later than 10:00:05Z, whatever their text says.
    assert fleet["hosts"]["web-03"]["source"] == "rerun" and fleet["hosts"]["web-03"]["status"] == "patched"
    assert fleet["total_hosts"] == 4 and fleet["needs_attention"] == ["web-04"]


def test_a_report_without_a_time_counts_as_the_oldest():
    undated = report("5004", None, {"web-01": "rolled_back"})
    fleet = merge_reports([SLICE_1, undated])
    assert fleet["hosts"]["web-01"]["status"] == "patched" and fleet["hosts"]["web-01"]["source"] == "report 1"
    assert fleet["duplicates"] == {"web-01": ["report 1", "report 2"]}


def test_dry_runs_merge_among_themselves_only():
    dry = [report("d1", "2026-12-01T09:00:00Z", {"web-01": "would_patch"}, dry_run=True),
           report("d2", "2026-12-01T09:00:00Z", {"web-02": "not_patched"}, dry_run=True)]
    fleet = merge_reports(dry)
    assert fleet["dry_run"] is True and fleet["needs_attention"] == ["web-02"]
    with pytest.raises(AnsibleFilterError, match="report 1, report 2 are dry runs and report 3 are not"):
        merge_reports(dry + [SLICE_1])


@pytest.mark.parametrize("bad", [{"run_id": "1"}, {"hosts": ["web-01"]}, "text"])
def test_something_that_is_not_a_report_is_named(bad):
    with pytest.raises(AnsibleFilterError, match="slice 2 is not a report of vpsorg.cloud.patch_with_rollback"):
        merge_reports([SLICE_1, bad], sources=["slice 1", "slice 2"])


def test_sources_must_match_the_reports():
    with pytest.raises(AnsibleFilterError, match="1 sources given for 2 reports"):
        merge_reports([SLICE_1, SLICE_2], sources=["only one"])
    with pytest.raises(AnsibleFilterError, match="expects a list of reports, got dict"):
        merge_reports(SLICE_1)


def test_no_reports_make_an_empty_fleet():
    assert merge_reports([])["total_hosts"] == 0


def test_the_filter_is_registered():
    assert FilterModule().filters()["merge_reports"] is merge_reports


def test_reports_generated_at_the_same_time_the_later_one_given_wins():
    a = {"run_id": "1", "generated_at": "2026-12-01T10:00:00Z", "hosts": {"web": {"status": "rolled_back"}}}
    b = {"run_id": "2", "generated_at": "2026-12-01T10:00:00Z", "hosts": {"web": {"status": "patched"}}}
    fleet = merge_reports([a, b], sources=["first", "second"])
    assert fleet["hosts"]["web"] == {"status": "patched", "source": "second"}
    assert fleet["duplicates"] == {"web": ["first", "second"]}
