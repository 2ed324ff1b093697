# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""wait_for_shell: wait until the host runs a shell command through a fresh connection.

ansible.builtin.wait_for_connection proves the same with the ping module, which
costs a Python start on the host for every try, and a port wait before it
(ansible.builtin.wait_for, delegated) costs one on the controller. The role
patch_with_rollback checks every host of every wave this way, so here the
port is tried from this process and the check is a plain command (as
ansible.builtin.raw runs it, become included).
"""

from __future__ import annotations

import math
import socket
import time

from ansible.errors import AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

# Printed by the host's shell: a connection that opens but runs nothing does not pass.
ANSWER = "vpsorg.cloud.wait_for_shell"


def seconds_left(timeout: int, timeout_from: float | None, now: float) -> int:
    """Whole seconds this wait may take: ``timeout`` from the start of the task, or what is left of it when it counts
    from ``timeout_from`` (seconds since the epoch), at least 1, so that a wait that starts late still looks once."""
    if timeout_from is None:
        return timeout
    return max(1, math.ceil(timeout_from + timeout - now))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("timeout", "timeout_from", "sleep", "port", "host"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        if self._task.check_mode:
            result.update(skipped=True, msg="Check mode: the host was not contacted.")
            return result
        try:
            timeout = int(self._task.args.get("timeout", 600))
            sleep = int(self._task.args.get("sleep", 1))
            port = int(self._task.args.get("port") or 0)
        except (TypeError, ValueError):
            result.update(failed=True, msg="timeout, sleep and port must be whole numbers.")
            return result
        timeout_from = self._task.args.get("timeout_from")
        if timeout_from is not None:
            try:
                timeout_from = float(timeout_from)
            except (TypeError, ValueError):
                result.update(failed=True, msg="timeout_from must be a time in seconds since the epoch, "
                                               "as now().timestamp() gives it.")
                return result
        # From timeout_from, any timeout is a deadline, one already past included (it still tries once).
        if (timeout < 1 and timeout_from is None) or sleep < 1 or not 0 <= port <= 65535:
            result.update(failed=True, msg="timeout and sleep must be at least 1 second, and port from 0 to 65535.")
            return result
        left = seconds_left(timeout, timeout_from, time.time())
        host = self._task.args.get("host")
        if port and not host:
            result.update(failed=True, msg="port needs host: the address the controller reaches the host at.")
            return result
        started = time.monotonic()
        attempts = 0
        port_open = not port
        while True:
            attempts += 1
            if not port_open:
                problem = self._port_problem(host, port, left - (time.monotonic() - started))
                port_open = problem is None
            if port_open:
                problem = self._answers()
            elapsed = time.monotonic() - started
            if problem is None:
                result.update(changed=False, elapsed=int(elapsed), attempts=attempts)
                return result
            if elapsed + sleep >= left:
                result.update(failed=True, elapsed=int(elapsed), attempts=attempts,
                              msg="The host did not %s within %d s (%d tries); the last try: %s" % (
                                  "run a shell command through a fresh connection" if port_open
                                  else "open port %d" % port, timeout, attempts, problem))
                return result
            time.sleep(sleep)

    @staticmethod
    def _port_problem(host, port, left):
        """None when ``host`` accepts a TCP connection on ``port`` from the controller, else why not."""
        try:
            with socket.create_connection((host, port), timeout=max(1.0, min(5.0, left))):
                return None
        except OSError as error:
            return "port %d on %s: %s" % (port, host, error)

    def _answers(self):
        """None when the host ran the command through a new connection, else what went wrong."""
        try:
            # A connection kept open (ControlPersist) would answer for a host whose sshd is gone.
            self._connection.reset()
        except AttributeError:
            pass
        try:
            answer = self._low_level_execute_command("echo %s" % ANSWER, sudoable=True)
        except AnsibleConnectionFailure as error:
            return to_text(error)
        if answer.get("rc") != 0 or ANSWER not in answer.get("stdout", ""):
            return "exit code %s: %s" % (answer.get("rc"), (answer.get("stderr") or answer.get("stdout") or "").strip())
        return None
