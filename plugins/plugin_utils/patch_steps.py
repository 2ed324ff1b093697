# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions inside the steps of the role patch_with_rollback, as plain functions.

The task files run the steps and hand these functions what the steps
returned (registered results); each function returns what the next task
takes. They are the filters ``patch_apt_error``, ``patch_reboot_needed``,
``patch_cleanup`` and ``patch_rollback_outcome`` (plugins/filter/patch_with_rollback.py).
"""

from __future__ import annotations

import re
import time
from typing import Any, Mapping

# The reboot modes of patch_with_rollback_reboot.
REBOOT_MODES = ("only_required", "always", "never")
# needs-restarting -r: 1 when a reboot is required, 0 when not.
NEEDS_RESTARTING_REQUIRED = 1


def _message(result: Mapping[str, Any], default: str) -> str:
    """A task's own message, trimmed, or ``default`` when it gave none (Jinja's ``msg | default(x) | string | trim``)."""
    return str(result["msg"]).strip() if "msg" in result else default


def dpkg_errors(stdout_lines: list[str]) -> list[str]:
    """dpkg's "dpkg: error processing package X (--configure):" lines, each with the indented lines after it."""
    found: list[str] = []
    keep = False
    for line in stdout_lines:
        if line.startswith("dpkg: "):
            keep = True
            found.append(line.strip())
        elif keep and re.match(r"\s", line):
            found.append(line.strip())
        else:
            keep = False
    return found


def apt_error(result: Mapping[str, Any]) -> str:
    """Why an apt upgrade failed, in words: dpkg's errors and apt's own "E:" lines, else apt's message.

    apt's own message on a failed upgrade is its last error ("Sub-process
    /usr/bin/dpkg returned an error code (1)"); which package failed, and why,
    is in its output.
    """
    dpkg = dpkg_errors(list(result.get("stdout_lines") or []))
    if not dpkg:
        return _message(result, "apt failed")
    apt = [line for line in str(result.get("msg") or "").splitlines() if line.startswith("E: ")]
    return " ".join(dpkg + apt)


def reboot_needed(mode: str, reboot_flag: Mapping[str, Any], needs_restarting: Mapping[str, Any]) -> bool:
    """Whether the built-in patch reboots the host: always, never, or only when the system says it must.

    ``reboot_flag`` is the stat of Debian's /var/run/reboot-required and
    ``needs_restarting`` the result of RHEL's ``needs-restarting -r``; each is
    a skipped result on the other family.
    """
    if mode not in REBOOT_MODES:
        raise ValueError(f"patch_with_rollback_reboot must be one of {', '.join(REBOOT_MODES)}, not {mode!r}")
    if mode != "only_required":
        return mode == "always"
    flagged = bool((reboot_flag.get("stat") or {}).get("exists"))
    return flagged or needs_restarting.get("rc") == NEEDS_RESTARTING_REQUIRED


def cleanup_options(how: str, snapshot_name: str, prefix: str, keep: int) -> dict[str, Any]:
    """The clean-up task's options for a cleanup mode: none for keep and hold (no task runs), else what to delete.

    delete: this run's snapshot, by name. keep_newest: rotation of the role's
    snapshots (its prefix), keeping the newest ``keep``.
    """
    if how in ("keep", "hold"):
        return {}
    if how == "delete":
        return {"name": snapshot_name}
    if how == "keep_newest":
        return {"rotate": {"prefix": prefix, "keep": keep}}
    raise ValueError(f"patch_with_rollback_cleanup must be delete, keep_newest, keep or hold, not {how!r}")


def rollback_outcome(restore: Mapping[str, Any], server_read: Mapping[str, Any], unhealthy: str | None,
                     now: float | None = None) -> dict[str, Any]:
    """How a host's rollback ended, from the restore's result, the server read after a failed restore, and why the
    restored host failed its verification (None: it passed).

    - rollback_failed: the restore failed or was refused; the server's status says whether it can be retried;
    - restored_unhealthy: the disk is back to the snapshot, but the host did not pass the checks;
    - rolled_back: restored and verified.
    """
    at = time.time() if now is None else now
    if restore.get("failed") or restore.get("unreachable"):
        status = (server_read.get("server") or {}).get("status") or "unknown"
        return {"status": "rollback_failed", "error": _message(restore, "failed"), "server_status": status, "at": at}
    if unhealthy is not None:
        return {"status": "restored_unhealthy", "error": unhealthy, "at": at}
    return {"status": "rolled_back", "at": at}
