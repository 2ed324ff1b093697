"""The collection's strategies send no worker to a host where a task's gate (vpsorg_cloud_dispatch) is false."""

import re

import pytest

PLAY = """
- hosts: all
  gather_facts: false
  strategy: %s
  tasks:
    - name: Gated step
      ansible.builtin.debug:
        msg: "ran on {{ inventory_hostname }}"
      vars:
        vpsorg_cloud_dispatch: "{{ inventory_hostname in (gated_hosts | default([])) }}"
      when: vpsorg_cloud_dispatch
    - name: Gated include
      ansible.builtin.include_tasks: included.yml
      vars:
        vpsorg_cloud_dispatch: "{{ inventory_hostname != 'h1' }}"
      when: vpsorg_cloud_dispatch
    - name: Gate that cannot be templated
      ansible.builtin.debug:
        msg: never
      vars:
        vpsorg_cloud_dispatch: "{{ undefined_name.attribute }}"
      when: vpsorg_cloud_dispatch
      ignore_errors: true
"""

INCLUDED = """
- name: Included step
  ansible.builtin.debug:
    msg: "included on {{ inventory_hostname }}"
"""


@pytest.fixture
def inventory(tmp_path):
    path = tmp_path / "hosts.ini"
    path.write_text("[all]\nh1 ansible_connection=local\nh2 ansible_connection=local gated_hosts=\"['h2']\"\n"
                    "h3 ansible_connection=local\n")
    (tmp_path / "included.yml").write_text(INCLUDED)
    return str(path)


def task_lines(stdout, task):
    """The result lines ('ok: [h1]', 'skipping: [h2]', ...) under one task's heading."""
    section = stdout.split("TASK [%s]" % task, 1)[1].split("TASK [", 1)[0].split("PLAY RECAP", 1)[0]
    return sorted(re.findall(r"^(ok|skipping|fatal|included): \[?([^\]\s]+)", section, re.M))


def recap(stdout, host):
    return dict((key, int(value)) for key, value in re.findall(
        r"(\w+)=(\d+)", re.search(r"^%s\s+:(.*)$" % host, stdout, re.M).group(1)))


@pytest.mark.parametrize("strategy", ["vpsorg.cloud.linear", "vpsorg.cloud.free"])
def test_a_host_whose_gate_is_false_gets_no_worker_and_the_others_run_as_usual(playbook, inventory, strategy):
    process = playbook(PLAY % strategy, inventory=inventory)
    assert process.returncode == 0, process.stdout[-3000:]
    # Only h2's gate is true; the include's is false on h1 only. A host that gets no worker shows no line at
    # all: a worker would have said "skipping", and the recap would count it.
    ran = sorted(re.findall(r'"msg": "(ran|included) on (h\d)"', process.stdout))
    assert ran == [("included", "h2"), ("included", "h3"), ("ran", "h2")], process.stdout[-3000:]
    assert "skipping:" not in process.stdout
    # A gate that cannot be templated goes to the worker, whose condition reports the error as the task's own.
    assert sorted(re.findall(r"^fatal: \[(h\d)\]: FAILED.*undefined_name", process.stdout, re.M)) == ["h1", "h2", "h3"]
    for host in ("h1", "h2", "h3"):
        assert recap(process.stdout, host)["skipped"] == 0, process.stdout[-1500:]
    if strategy == "vpsorg.cloud.linear":
        assert task_lines(process.stdout, "Gated step") == [("ok", "h2")]
        assert task_lines(process.stdout, "Included step") == [("ok", "h2"), ("ok", "h3")]


def test_under_ansibles_own_strategy_the_same_tasks_are_skipped_by_their_condition(playbook, inventory):
    process = playbook(PLAY % "ansible.builtin.linear", inventory=inventory)
    assert process.returncode == 0, process.stdout[-3000:]
    assert task_lines(process.stdout, "Gated step") == [("ok", "h2"), ("skipping", "h1"), ("skipping", "h3")]
    assert task_lines(process.stdout, "Included step") == [("ok", "h2"), ("ok", "h3")]
    assert recap(process.stdout, "h1")["skipped"] == 2 and recap(process.stdout, "h3")["skipped"] == 1
