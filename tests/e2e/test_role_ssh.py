"""patch_with_rollback over real SSH: one sshd per host on a loopback port, the simulator behind them.

Ansible runs with its default SSH arguments, ControlPersist included: a
connection stays open between tasks and outlives the sshd that accepted it,
which is what fooled the verification before it opened fresh connections.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import BIN, ROOT
from ssh_lab import RebootOnRestore, SshLab, ssh_env

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet, read  # noqa: E402

FAST = {"snapshot": 0.3, "backup": 0.3, "restore": 0.5}


@pytest.fixture
def ssh_lab(tmp_path):
    lab = SshLab(str(tmp_path))
    try:
        yield lab
    finally:
        lab.close()


def test_a_kept_connection_answers_for_a_dead_sshd_until_it_is_reset(ssh_lab, tmp_path):
    """The trap itself, shown with plain tasks: without reset_connection a dead sshd still 'answers'."""
    host = ssh_lab.add("lonely")
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"all": {"hosts": {"lonely": dict(
        host.inventory_vars(ssh_lab.key), ansible_python_interpreter=sys.executable)}}}))
    playbook = tmp_path / "trap.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: lonely
          gather_facts: false
          tasks:
            - ansible.builtin.ping:
            - ansible.builtin.shell: kill "$(cat %s)"
            - ansible.builtin.ping:
              register: kept
              ignore_unreachable: true
            - ansible.builtin.meta: reset_connection
            - ansible.builtin.ping:
              register: fresh
              ignore_unreachable: true
            - ansible.builtin.debug:
                msg: "kept={{ 'unreachable' if kept is unreachable else 'answered' }} fresh={{ 'unreachable' if fresh is unreachable else 'answered' }}"
        """ % host.pid_file))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", **ssh_env(ssh_lab.control_dir))
    process = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", str(inventory), str(playbook)],
                             env=env, capture_output=True, text=True, timeout=300, check=False)
    assert process.returncode == 0, process.stdout[-3000:] + process.stderr[-2000:]
    assert not host.listener_running()
    assert "kept=answered fresh=unreachable" in process.stdout, process.stdout[-3000:]


# name, server id, what the demo patch breaks; see the module fixture below for each host's part.
SSH_FLEET = (
    ("web-01", 101, None),      # the canary: patched
    ("web-02", 102, "sshd"),    # its sshd dies in the patch; the restore boots it again
    ("web-03", 103, "sshd"),    # its sshd dies in the patch and does not come back
    ("web-04", 104, None),      # unreachable before the run
    ("web-05", 105, "health"),  # the patch breaks its health endpoint
)


@pytest.fixture(scope="module")
def waves_over_ssh(tmp_path_factory):
    """One run of the collection's playbook over SSH, in waves of 2 and 3 hosts."""
    folder = str(tmp_path_factory.mktemp("waves-over-ssh"))
    lab = SshLab(folder)
    fleet = Fleet(os.path.join(folder, "fleet"), SSH_FLEET, durations=FAST)
    reboot = None
    try:
        host_vars = {}
        for name, _server_id, breaks in SSH_FLEET:
            daemon = lab.add(name, start=name != "web-04")
            host_vars[name] = dict(daemon.inventory_vars(lab.key), demo_sshd_pid_file=daemon.pid_file,
                                   # Generous where the check must pass, short where it must fail.
                                   patch_with_rollback_verify_timeout=120,
                                   patch_with_rollback_restore_verify_timeout=120)
            if breaks == "sshd":
                # No port check: only a connection to the host can notice that its sshd is gone.
                host_vars[name].update(patch_with_rollback_verify_port=0, patch_with_rollback_verify_timeout=5)
        host_vars["web-03"]["patch_with_rollback_restore_verify_timeout"] = 5
        reboot = RebootOnRestore(fleet.sim, 102, lab.daemons["web-02"])
        reboot.start()
        process, report = fleet.run({"patch_with_rollback_first_wave": 2, "patch_with_rollback_wave_size": 3,
                                     "patch_with_rollback_max_fail_percentage": 100},
                                    extra_host_vars=host_vars, env=ssh_env(lab.control_dir))
        reboot.stop()
        assert report is not None, process.stdout[-4000:] + process.stderr[-2000:]
        yield Run(fleet, process, report, reboot)
    finally:
        if reboot is not None:
            reboot.stop()
        fleet.stop()
        lab.close()


class Run:
    def __init__(self, fleet, process, report, reboot):
        self.fleet, self.process, self.report, self.reboot = fleet, process, report, reboot
        self.hosts = report["hosts"]

    def requests(self, method, suffix=""):
        return [e for e in self.fleet.sim.log.entries() if e["method"] == method and e["path"].endswith(suffix)]

    def restored_snapshots(self):
        return sorted(int(e["path"].split("/")[-3]) for e in self.requests("POST", "/restore/"))

    def app_version(self, name):
        return read(os.path.join(self.fleet.disk(name), "app.conf"))


def test_a_host_whose_sshd_dies_during_the_patch_is_rolled_back_not_patched(waves_over_ssh):
    run = waves_over_ssh
    web02 = run.hosts["web-02"]
    # verify_port is 0: only the fresh connection can see the dead sshd; the kept one would still answer.
    assert web02["status"] == "rolled_back", run.process.stdout[-6000:]
    assert web02["failed_phase"] == "verify"
    assert web02["cause"].startswith("Reach the host through a fresh connection"), web02["cause"]
    assert web02["snapshot_kept"] and run.fleet.sim.state.list_snapshots(102)[0]["id"] == web02["snapshot_id"]
    assert run.app_version("web-02") == "version=1\n"
    assert run.reboot.boots == 1
    assert web02["snapshot_id"] in run.restored_snapshots()
    assert "marked resolved" in web02["manual_step"]


def test_a_host_whose_sshd_stays_down_after_the_restore_is_not_restored_again(waves_over_ssh):
    run = waves_over_ssh
    web03 = run.hosts["web-03"]
    assert web03["status"] == "restored_unhealthy", run.process.stdout[-6000:]
    assert "Do not restore again" in web03["message"]
    assert "snapshot %s (id %s)" % (web03["snapshot_name"], web03["snapshot_id"]) in web03["message"]
    assert "vpsorg.cloud.restore" not in web03["manual_step"]
    assert web03["manual_step"].startswith("Look at web-03 from the provider's console")
    assert web03["snapshot_kept"] and run.fleet.sim.state.list_snapshots(103)[0]["id"] == web03["snapshot_id"]
    assert run.restored_snapshots().count(web03["snapshot_id"]) == 1


def test_a_host_unreachable_before_the_run_gets_no_snapshot_and_no_restore(waves_over_ssh):
    run = waves_over_ssh
    web04 = run.hosts["web-04"]
    assert web04["status"] == "not_patched", run.process.stdout[-6000:]
    assert web04["preflight"]["reachable"] is False and web04["snapshot_id"] is None
    assert "unreachable through a fresh connection" in web04["message"]
    assert web04["cause"].startswith("The host is unreachable through a fresh connection"), web04["cause"]
    assert run.fleet.sim.state.list_snapshots(104) == []
    # One snapshot for each of the four other hosts, restores only for the three that failed.
    assert len(run.requests("POST", "/snapshots/")) == 4
    assert run.restored_snapshots() == sorted(run.hosts[name]["snapshot_id"] for name in ("web-02", "web-03", "web-05"))
    assert run.app_version("web-04") == "version=1\n"
    assert run.fleet.sim.state.server_view(104)["status"] == "running"


def test_the_waves_and_the_report_over_ssh(waves_over_ssh):
    run = waves_over_ssh
    assert {name: entry["status"] for name, entry in run.hosts.items()} == {
        "web-01": "patched", "web-02": "rolled_back", "web-03": "restored_unhealthy",
        "web-04": "not_patched", "web-05": "rolled_back"}
    assert run.process.returncode == 2  # the hosts that were not patched end failed
    assert [run.hosts[name]["wave"] for name, _id, _b in SSH_FLEET] == [1, 1, 2, 2, 2]
    assert run.app_version("web-01") == "version=2\n" and run.app_version("web-05") == "version=1\n"
    kept = {s["server"]["name"]: s["id"] for s in run.fleet.sim.state.list_snapshots()}
    assert kept == {name: run.hosts[name]["snapshot_id"] for name in ("web-02", "web-03", "web-05")}
    # Every status but patched says what failed.
    assert {name: bool(entry["cause"]) for name, entry in run.hosts.items()} == {
        "web-01": False, "web-02": True, "web-03": True, "web-04": True, "web-05": True}
    summary = run.process.stdout[run.process.stdout.index("Summarize the run"):]
    for name, _id, _breaks in SSH_FLEET:
        assert name in summary
