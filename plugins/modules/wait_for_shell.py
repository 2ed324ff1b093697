#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: wait_for_shell
short_description: Wait until a host runs a shell command through a fresh connection
version_added: 2.0.0
description:
  - With O(port), first waits until O(host) accepts TCP connections on that port, tried from the controller.
  - Then drops the connection to the host and opens a new one for every try, and runs C(echo) in the host's shell,
    with C(become) as the task says.
  - Tries every O(sleep) seconds until both succeed or O(timeout) seconds have passed (since O(timeout_from), if
    given); the port and the connection share that one deadline.
  - The same proof as M(ansible.builtin.wait_for_connection) gives that the host answers, without Python on the host,
    so it does not check that modules can run there.
    The role R(vpsorg.cloud.patch_with_rollback,ansible_collections.vpsorg.cloud.patch_with_rollback_role) uses it to
    verify every patched host, where a Python start per host and try would cost more than the rest of the check.
  - An action plugin only; it runs on the controller and acts through the host's connection.
  - In check mode the host is not contacted and the task is skipped.
author:
  - vpsorg.cloud maintainers (@vpsorg)
options:
  port:
    description: A TCP port that must accept connections from the controller first; V(0) skips this.
    type: int
    default: 0
  host:
    description: The address the controller tries O(port) at, for example C(ansible_host). Required with O(port).
    type: str
  timeout:
    description: Seconds to keep trying, at least 1; with O(timeout_from), seconds from that time, any number.
    type: int
    default: 600
  timeout_from:
    description:
      - When the O(timeout) began, in seconds since the epoch (a number such as V(1765070000.5); see the examples),
        for example when a reboot was started. Several waits given the same O(timeout_from) share one deadline.
      - A wait whose deadline has already passed still tries once.
      - By default the O(timeout) begins when the task starts.
    type: float
    version_added: 2.1.0
  sleep:
    description: Seconds between tries, at least 1.
    type: int
    default: 1
seealso:
  - module: ansible.builtin.wait_for_connection
"""

EXAMPLES = r"""
- name: Wait up to 5 minutes for the rebooted host's SSH port, then for its shell
  vpsorg.cloud.wait_for_shell:
    host: "{{ ansible_host | default(inventory_hostname) }}"
    port: "{{ ansible_port | default(22) }}"
    timeout: 300

- name: Note when the reboot starts
  ansible.builtin.set_fact:
    reboot_started: "{{ now().timestamp() }}"

# ... the tasks that reboot the host and do other work meanwhile ...

- name: Wait for the shell until 10 minutes after the reboot started, however long the tasks between took
  vpsorg.cloud.wait_for_shell:
    timeout: 600
    timeout_from: "{{ reboot_started }}"
"""

RETURN = r"""
elapsed:
  description: Whole seconds from the first try to the last.
  returned: always
  type: int
  sample: 3
attempts:
  description: How many connections were tried.
  returned: always
  type: int
  sample: 1
"""
