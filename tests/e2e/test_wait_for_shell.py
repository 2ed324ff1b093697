"""vpsorg.cloud.wait_for_shell: a port tried from the controller, then a shell command through a fresh connection."""

import socket

from playbook_tasks import task_result


def closed_port():
    # Bound and never listened on: connections to it are refused for as long as the socket lives.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


def run(playbook, args):
    return playbook("""
    - hosts: localhost
      connection: local
      gather_facts: false
      tasks:
        - name: Wait for the shell
          vpsorg.cloud.wait_for_shell: %s
          register: result
          ignore_errors: true
        - name: Show the result
          ansible.builtin.debug:
            var: result
    """ % args)


def test_a_host_that_answers_passes_at_the_first_try(playbook):
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(1)
    try:
        process = run(playbook, "{host: 127.0.0.1, port: %d, timeout: 30}" % listening.getsockname()[1])
    finally:
        listening.close()
    result = task_result(process)
    assert not result.get("failed") and result["attempts"] == 1 and result["changed"] is False, result


def test_a_closed_port_fails_within_the_timeout_and_names_the_port(playbook):
    sock, port = closed_port()
    try:
        process = run(playbook, "{host: 127.0.0.1, port: %d, timeout: 2, sleep: 1}" % port)
    finally:
        sock.close()
    result = task_result(process)
    assert result["failed"] and result["attempts"] >= 1
    assert result["msg"].startswith("The host did not open port %d within 2 s" % port), result["msg"]


def test_a_deadline_shared_from_an_earlier_start_that_has_passed_gets_one_try(playbook):
    sock, port = closed_port()
    try:
        process = run(playbook, "{host: 127.0.0.1, port: %d, timeout: 30, timeout_from: '{{ now().timestamp() - 1000 }}'}"
                      % port)
    finally:
        sock.close()
    result = task_result(process)
    assert result["failed"] and result["attempts"] == 1, result
    assert result["msg"].startswith("The host did not open port %d within 30 s (1 tries)" % port), result["msg"]


def test_bad_arguments_are_refused_before_any_try(playbook):
    result = task_result(run(playbook, "{port: 22}"))
    assert result["failed"] and result["msg"] == "port needs host: the address the controller reaches the host at."
    assert "attempts" not in result
    result = task_result(run(playbook, "{timeout: 0}"))
    assert result["failed"] and "at least 1 second" in result["msg"]
    result = task_result(run(playbook, "{timeout: 30, timeout_from: yesterday}"))
    assert result["failed"] and result["msg"].startswith("timeout_from must be a time in seconds since the epoch")
    assert "attempts" not in result


def test_check_mode_contacts_nothing(playbook):
    process = playbook("""
    - hosts: localhost
      connection: local
      gather_facts: false
      tasks:
        - name: Wait for the shell
          vpsorg.cloud.wait_for_shell:
            host: 127.0.0.1
            port: 1
          register: result
        - name: Show the result
          ansible.builtin.debug:
            var: result
    """, args=("--check",))
    result = task_result(process)
    assert result["skipped"] and "not contacted" in result["msg"]
