"""What the role's step actions refuse before they run anything: an argument the role did not hand them."""

from __future__ import annotations

from ansible_collections.vpsorg.cloud.plugins.plugin_utils.module_run import unhanded

KINDS = {"wave": dict, "patching": list, "failures": dict}


def test_a_step_handed_everything_runs():
    assert unhanded("step", {"wave": {}, "patching": [], "failures": {}, "other": 1}, KINDS) is None


def test_a_missing_or_mistyped_argument_is_named_with_the_kind_the_role_hands():
    assert unhanded("patch_with_rollback_cleanup", {"wave": {}, "patching": "a,b"}, KINDS) == (
        "patch_with_rollback_cleanup needs patching (a list), failures (a mapping), as the role hands them.")
    # An empty result is handed on; none (a register renamed or never set) is not.
    assert unhanded("step", {"wave": None, "patching": [], "failures": {}}, KINDS) == (
        "step needs wave (a mapping), as the role hands them.")
