"""The one table of statuses: what reads it, and that the role's README says the same."""

from __future__ import annotations

import os
import re

from ansible_collections.vpsorg.cloud.plugins.filter.merge_reports import merge_reports
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import report_html
from ansible_collections.vpsorg.cloud.plugins.plugin_utils.statuses import PHASES, STATUSES, ends_failed, settled

README = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "patch_with_rollback", "README.md")
SETTLED = ["patched", "snapshot_only", "would_patch", "undone", "already_undone", "would_undo"]


def test_only_patched_snapshot_only_and_a_dry_runs_verdict_are_settled():
    assert sorted(name for name in STATUSES if settled(name)) == sorted(SETTLED)
    assert [name for name in STATUSES if ends_failed(name)] == [
        "rolled_back", "not_patched", "not_started", "unresolved", "rollback_failed", "restored_unhealthy",
        "left_alone", "undo_failed", "undo_unhealthy"]
    # A status nobody knows (another version's, a broken record) ends failed: when in doubt, look.
    assert ends_failed("patched_maybe") and ends_failed(None) and not settled(None)


def test_the_role_readme_lists_every_status_of_the_table_and_no_other():
    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    table = text[text.index("## Statuses"):]
    table = table[:table.index("\n## ", 1)]
    assert sorted(re.findall(r"^\| `(\w+)` \|", table, re.M)) == sorted(STATUSES)


def test_the_phases_run_in_one_order_for_the_records_and_the_page():
    assert PHASES == ("preflight", "snapshot", "patch", "verify", "rollback", "cleanup")
    durations = logic.durations(0.0, {"preflight": 1.0, "patch": 4.0, "cleanup": 6.0}, 7.0)
    assert list(durations) == list(PHASES) + ["total"]
    assert durations == {"preflight": 1.0, "snapshot": None, "patch": 3.0, "verify": None, "rollback": None,
                         "cleanup": 2.0, "total": 7.0}
    assert report_html.STATUSES["rolled_back"] == (STATUSES["rolled_back"].colour, STATUSES["rolled_back"].applies)


def report(dry_run, **statuses):
    return {"run_id": "r1", "dry_run": dry_run, "hosts": {host: {"status": status} for host, status in statuses.items()}}


def test_the_hosts_that_end_failed_the_merge_and_the_gate_read_the_table():
    real = report(False, a="patched", b="rolled_back", c="snapshot_only", d="not_started", e="mystery")
    assert logic.failed_hosts(real) == ["b", "d", "e"]
    # A dry run ends no host failed, whatever it found.
    assert logic.failed_hosts(report(True, a="would_patch", b="not_patched", c="unresolved")) == []
    merged = merge_reports([real])
    assert merged["needs_attention"] == ["b", "d", "e"]
    earlier = [{"host": "a", "wave": 1, "status": "snapshot_only"}, {"host": "b", "wave": 1, "status": "patched"}]
    assert logic.gate(earlier, 0, False) is None
    assert "1 of 2 hosts did not end patched (b)" in logic.gate(
        [earlier[0], dict(earlier[1], status="restored_unhealthy")], 0, False)
