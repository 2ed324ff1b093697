# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The statuses a host of the role patch_with_rollback (or of an undo of its run) can end in, and the phases of a wave:
written once, as data.

Everything that tells one status from another reads :data:`STATUSES`: the
records (plugin_utils/patch_with_rollback.py), the canary gate, the summary,
the report's page (plugin_utils/report_html.py), the merge of several reports
(filter merge_reports), and the role's final check, which ends failed every
host whose status says so (the action patch_with_rollback_report).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Status:
    """One status: when a host ends in it, what to do next, and whether the host ends failed."""

    name: str
    applies: str
    next_step: str
    ends_failed: bool
    colour: str
    # The cause every host in this status has; None where each host's own cause is recorded.
    cause: str | None = None


STATUSES = {status.name: status for status in (
    Status("patched", "patched and verified", "nothing", False, "#2e7d32"),
    Status("snapshot_only", "snapshot taken, as asked", "nothing", False, "#00796b",
           cause="patch_with_rollback_snapshot_only is set: the patch was not run, as asked."),
    Status("would_patch", "dry run: preflight passed", "nothing", False, "#1565c0",
           cause="Dry run (check mode): nothing was changed."),
    Status("rolled_back", "the patch or the verification failed; the snapshot was restored and the host verified",
           "find why the patch failed, then run again with the host marked resolved", True, "#ef6c00"),
    Status("not_patched", "preflight, quiesce, snapshot or thaw failed; nothing was patched", "see the message", True,
           "#8d6e63"),
    Status("not_started", "its wave was not started because an earlier wave failed", "fix the failed wave, run again",
           True, "#757575"),
    Status("unresolved", "refused: an earlier run left a rollback nobody has marked resolved",
           "mark the host resolved, or restore the named snapshot", True, "#6a1b9a"),
    Status("rollback_failed", "the restore failed, or the API refused it; the snapshot is kept",
           "restore by hand with the command in manual_step", True, "#c62828"),
    Status("restored_unhealthy", "the restore completed, but the host did not pass the checks afterwards",
           "do not restore again; look at the host from the provider's console, then mark it resolved", True,
           "#b71c1c"),
    # An undo of a run (the playbook vpsorg.cloud.rollback_run, plugin_utils/undo.py).
    Status("undone", "restored from the run's pre-patch snapshot and verified", "nothing", False, "#2e7d32"),
    Status("already_undone", "an earlier undo of the run restored and verified it; nothing was done", "nothing",
           False, "#558b2f"),
    Status("would_undo", "dry run: would be restored from the run's snapshot", "nothing", False, "#1565c0",
           cause="Dry run (check mode): nothing was changed."),
    Status("left_alone", "not restored: its server is neither running nor stopped", "have the server brought back to "
           "running or stopped, then run the undo again", True, "#8d6e63"),
    Status("undo_failed", "the restore failed, or the API refused it; the snapshot is kept",
           "restore by hand with the command in manual_step", True, "#c62828"),
    Status("undo_unhealthy", "the restore completed, but the host did not pass the checks afterwards",
           "do not restore again; look at the host from the provider's console", True, "#b71c1c"),
)}

# The phases of a wave, in the order they run; a host's durations and the page's timeline follow it.
PHASES = ("preflight", "snapshot", "patch", "verify", "rollback", "cleanup")


def ends_failed(status: str | None) -> bool:
    """Whether a host in ``status`` ends the run failed; an unknown status (or none) does, when in doubt."""
    known = STATUSES.get(status or "")
    return True if known is None else known.ends_failed


def settled(status: str | None) -> bool:
    """Whether a host in ``status`` needs nothing more: the wave counts it as a success, a merge needs no attention."""
    return not ends_failed(status)
