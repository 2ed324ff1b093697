"""The decisions inside the role's steps: apt's error, the reboot rule, the clean-up's options."""

from __future__ import annotations

import pytest

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_steps

APT_OUTPUT = [
    "Setting up vpsorg-demo (2.0) ...",
    "dpkg: error processing package vpsorg-demo (--configure):",
    " installed vpsorg-demo package post-installation script subprocess returned error exit status 1",
    "Processing triggers for man-db ...",
    "dpkg: dependency problems prevent configuration of vpsorg-tools:",
    "  vpsorg-tools depends on vpsorg-demo; however:",
    "Errors were encountered while processing:",
    " vpsorg-demo",
]


def test_apt_error_names_the_package_that_failed_and_why():
    result = {"failed": True, "stdout_lines": APT_OUTPUT,
              "msg": "'/usr/bin/apt-get dist-upgrade' failed: E: Sub-process /usr/bin/dpkg returned an error code (1)\n"
                     "W: something else\nE: second error"}
    assert patch_steps.apt_error(result) == (
        "dpkg: error processing package vpsorg-demo (--configure): installed vpsorg-demo package post-installation "
        "script subprocess returned error exit status 1 dpkg: dependency problems prevent configuration of "
        "vpsorg-tools: vpsorg-tools depends on vpsorg-demo; however: E: second error")
    # Lines that only look like dpkg's (not at the start) are not errors of dpkg.
    assert patch_steps.dpkg_errors(["x dpkg: error", "  indented, but after no dpkg line"]) == []


def test_apt_error_without_dpkg_lines_is_apts_own_message():
    assert patch_steps.apt_error({"msg": "  Failed to lock apt for exclusive operation  ", "stdout_lines": ["ok"]}) == \
        "Failed to lock apt for exclusive operation"
    assert patch_steps.apt_error({"unreachable": True}) == "apt failed"
    assert patch_steps.apt_error({"msg": ""}) == ""


SKIPPED = {"skipped": True, "changed": False}


@pytest.mark.parametrize("mode, flag, restarting, expected", [
    ("always", SKIPPED, SKIPPED, True),
    ("never", {"stat": {"exists": True}}, SKIPPED, False),
    ("never", SKIPPED, {"rc": 1}, False),
    ("only_required", {"stat": {"exists": True}}, SKIPPED, True),   # Debian says so
    ("only_required", {"stat": {"exists": False}}, SKIPPED, False),
    ("only_required", SKIPPED, {"rc": 1}, True),                    # RHEL says so
    ("only_required", SKIPPED, {"rc": 0}, False),
    ("only_required", SKIPPED, SKIPPED, False),
])
def test_the_reboot_rule(mode, flag, restarting, expected):
    assert patch_steps.reboot_needed(mode, flag, restarting) is expected


def test_an_unknown_reboot_mode_or_cleanup_mode_is_an_error_not_a_guess():
    with pytest.raises(ValueError, match="patch_with_rollback_reboot must be one of only_required, always, never"):
        patch_steps.reboot_needed("sometimes", SKIPPED, SKIPPED)
    with pytest.raises(ValueError, match="patch_with_rollback_cleanup must be delete, keep_newest, keep or hold"):
        patch_steps.cleanup_options("shred", "pre-patch-r1", "pre-patch-", 2)


def test_each_cleanup_mode_deletes_only_what_it_says():
    assert patch_steps.cleanup_options("delete", "pre-patch-r1", "pre-patch-", 2) == {"name": "pre-patch-r1"}
    assert patch_steps.cleanup_options("keep_newest", "pre-patch-r1", "pre-patch-", 3) == {
        "rotate": {"prefix": "pre-patch-", "keep": 3}}
    assert patch_steps.cleanup_options("keep", "pre-patch-r1", "pre-patch-", 2) == {}


def test_the_three_endings_of_a_rollback_are_decided_from_what_the_steps_returned():
    failed = {"failed": True, "msg": " Server 101 is in status error; the API refuses to restore it. "}
    assert patch_steps.rollback_outcome(failed, {"server": {"status": "error"}}, None, now=5.0) == {
        "status": "rollback_failed", "error": "Server 101 is in status error; the API refuses to restore it.",
        "server_status": "error", "at": 5.0}
    # The server could not be read either; a failed restore stays failed whatever the verification said.
    assert patch_steps.rollback_outcome({"failed": True}, {"failed": True, "msg": "HTTP 500"}, "ignored", now=5.0) == {
        "status": "rollback_failed", "error": "failed", "server_status": "unknown", "at": 5.0}
    restored = {"changed": True, "server": {"status": "running"}}
    assert patch_steps.rollback_outcome(restored, SKIPPED, "Reach the host: timed out", now=6.0) == {
        "status": "restored_unhealthy", "error": "Reach the host: timed out", "at": 6.0}
    assert patch_steps.rollback_outcome(restored, SKIPPED, None, now=7.0) == {"status": "rolled_back", "at": 7.0}


def test_an_unreachable_restore_is_a_failed_rollback():
    assert patch_steps.rollback_outcome({"unreachable": True, "msg": "ssh gone"}, {"server": {"status": "running"}},
                                        None, now=1.0) == {
        "status": "rollback_failed", "error": "ssh gone", "server_status": "running", "at": 1.0}
