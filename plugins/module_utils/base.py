# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The module engine: shared options, check mode and diff plumbing, results, failures.

A module subclasses :class:`VpsorgModule`, declares its own options and
implements :meth:`VpsorgModule.run`; ``main()`` is ``TheModule.execute()``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.vpsorg.cloud.plugins.module_utils.client import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    Deadline,
    RetryPolicy,
    VpsorgApiError,
    VpsorgClient,
)

if TYPE_CHECKING:
    from typing import Any, NoReturn

DEFAULT_API_URL = "https://admin.vps.org/api/v1"
# Requests a task may have in flight together (a fleet's creates); a 429 halves it for a while.
DEFAULT_CONCURRENCY = 8


def vpsorg_argument_spec() -> dict[str, dict[str, Any]]:
    """Connection options every module takes, each with its environment fallback."""
    return dict(
        # Not required=True: the check in _connect names the environment variable too.
        api_token=dict(type="str", no_log=True, fallback=(env_fallback, ["VPSORG_API_TOKEN"])),
        api_url=dict(type="str", default=DEFAULT_API_URL, fallback=(env_fallback, ["VPSORG_API_URL"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VPSORG_VALIDATE_CERTS"])),
        api_timeout=dict(type="int", default=30, fallback=(env_fallback, ["VPSORG_API_TIMEOUT"])),
        api_retries=dict(type="int", default=5, fallback=(env_fallback, ["VPSORG_API_RETRIES"])),
        api_retry_max_delay=dict(type="int", default=30, fallback=(env_fallback, ["VPSORG_API_RETRY_MAX_DELAY"])),
        api_concurrency=dict(type="int", default=DEFAULT_CONCURRENCY,
                             fallback=(env_fallback, ["VPSORG_API_CONCURRENCY"])),
    )


class VpsorgModule:
    """Base of every module of the collection."""

    argument_spec: dict[str, dict[str, Any]] = {}
    mutually_exclusive: list[tuple[str, ...]] = []
    required_one_of: list[tuple[str, ...]] = []

    def __init__(self) -> None:
        spec = vpsorg_argument_spec()
        spec.update(self.argument_spec)
        self.module = AnsibleModule(
            argument_spec=spec,
            mutually_exclusive=self.mutually_exclusive,
            required_one_of=self.required_one_of,
            supports_check_mode=True,
        )
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.result: dict[str, Any] = {"changed": False}
        self.before: Any = None
        self.after: Any = None
        self.started = time.monotonic()
        self.deadline: Deadline | None = None
        self.client: VpsorgClient | None = None

    # ------------------------------------------------------------ lifecycle

    @classmethod
    def execute(cls) -> None:
        """Entry point for a module's ``main()``."""
        instance = cls()
        instance._connect()
        try:
            instance.validate()
            instance.run()
        except VpsorgApiError as exc:
            instance.fail_api(exc)
        finally:
            # The sessions that a fleet's worker threads opened.
            close = getattr(instance.client, "close", None)
            if close is not None:
                close()
        instance.exit()

    def _connect(self) -> None:
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
        params = self.params
        if not params["api_token"]:
            self.module.fail_json(msg="No API token: set the api_token option or the VPSORG_API_TOKEN environment "
                                      "variable (in AWX, attach a VPS.org API credential to the job template).")
        try:
            self.client = VpsorgClient(
                params["api_url"], params["api_token"], validate_certs=params["validate_certs"],
                timeout=params["api_timeout"], concurrency=max(1, params["api_concurrency"]),
                retry_policy=RetryPolicy(params["api_retries"], params["api_retry_max_delay"]))
        except VpsorgApiError as exc:
            self.module.fail_json(msg=exc.message)

    def validate(self) -> None:
        """Check the options before any request; a subclass extends it and calls :meth:`fail` on bad input."""
        params = self.params
        if params["api_concurrency"] < 1:
            self.fail("api_concurrency must be at least 1 (requests in flight together), "
                      f"got {params['api_concurrency']}.")
        for name in sorted(self.argument_spec):
            if (name == "server_id" or name.endswith("_id")) and self.argument_spec[name].get("type") == "int":
                if params.get(name) is not None:
                    self.check_id(name, params[name], f"{name} must be a positive id (1 or more)")
        if "wait_timeout" in self.argument_spec and params.get("wait_timeout") is not None:
            timeout = params["wait_timeout"]
            if params.get("wait", True) and timeout < 1:
                self.fail(f"wait_timeout must be at least 1 (seconds) when wait=true, got {timeout}; "
                          "set wait=false to start the operation without waiting.")
            if timeout < 0:
                self.fail(f"wait_timeout must not be negative, got {timeout}.")

    def check_id(self, option: str, value: int, rule: str) -> None:
        """Fail unless ``value`` is an id: an integer of 1 or more.

        Ansible's int type lets a boolean through (``server_id: true`` stays
        True, which would be sent as ``?server_id=True``), so it is refused here.
        """
        if isinstance(value, bool):
            self.fail(f"{rule}, got the boolean {value}; write the id as a number, such as 12345.")
        if value < 1:
            self.fail(f"{rule}, got {value}.")

    def run(self) -> None:
        raise NotImplementedError

    def start_deadline(self, seconds: float) -> Deadline:
        """Start the one wait budget of this task (shared by all its waits)."""
        if self.deadline is None:
            self.deadline = Deadline(seconds)
        return self.deadline

    # ------------------------------------------------------------ results

    def changed(self, before: Any = None, after: Any = None) -> None:
        """Record a change and its before/after states for ``--diff``."""
        self.result["changed"] = True
        self.before, self.after = before, after

    def warn(self, message: str) -> None:
        self.module.warn(message)

    def shape_result(self) -> dict[str, Any]:
        """The result as the task returns it; a subclass may add fields that failures carry too."""
        if self.module._diff and self.result["changed"]:
            self.result["diff"] = {"before": self.before or {}, "after": self.after or {}}
        if self.client is not None:
            self.result["api_calls"] = self.client.calls
        return self.result

    def exit(self) -> NoReturn:
        self.module.exit_json(**self.shape_result())

    def fail(self, msg: str, **extra: Any) -> NoReturn:
        """End the task as failed; never returns (``fail_json`` exits)."""
        self.result.update(extra)
        self.module.fail_json(msg=msg, **self.shape_result())

    def fail_api(self, error: VpsorgApiError, msg: str | None = None, **extra: Any) -> NoReturn:
        """Fail with the structured API error under ``api_error``; never returns."""
        extra["api_error"] = error.to_dict()
        self.fail(msg or error.message, **extra)
