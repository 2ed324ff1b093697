"""A patch that does not run to its end is a failed patch; the report is not needed to fail the right hosts.

Over real SSH: the patch itself asks a switch (a thread of the test) to take
its host down after step 1 and to bring it back after the last step, through
request files it then waits on. So steps 2 and 3 meet a host that is down,
whatever the machine's speed, and the host is back long before the
verification looks at it: only the role's record of tasks that could not
reach the host can tell this patch from a complete one.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest

from conftest import ROOT
from ssh_lab import RebootOnRestore, SshLab, ssh_env

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet, read  # noqa: E402

FAST = {"snapshot": 0.3, "backup": 0.3, "restore": 0.5}

# A host's part in a patch: down after step 1 and back after step 3, or a reboot of its own.
HALF_DONE = """\
- name: Patch step 1 of 3
  ansible.builtin.copy:
    dest: "{{ demo_disk }}/app.conf"
    content: "version=2\\n"
    mode: "0644"

- name: The host goes down, as in a crash or a power cut
  ansible.builtin.include_tasks: "{{ switch_tasks }}"
  vars:
    switch_request: down

- name: Patch step 2 of 3
  ansible.builtin.copy:
    dest: "{{ demo_disk }}/step-2"
    content: "done\\n"
    mode: "0644"
%(flags)s
- name: Patch step 3 of 3
  ansible.builtin.copy:
    dest: "{{ demo_disk }}/step-3"
    content: "done\\n"
    mode: "0644"
%(flags)s
- name: The host comes back
  ansible.builtin.include_tasks: "{{ switch_tasks }}"
  vars:
    switch_request: up
"""

# Asks the switch for something and waits until it is done: a hold, not a race.
SWITCH_TASKS = """\
- name: Ask the switch
  ansible.builtin.copy:
    dest: "{{ switch_folder }}/{{ switch_request }}"
    content: ""
    mode: "0644"
  delegate_to: localhost

- name: Wait for the switch
  ansible.builtin.wait_for:
    path: "{{ switch_folder }}/{{ switch_request }}.done"
    timeout: 120
  delegate_to: localhost
"""

# The user's own reboot, through the reboot module. The "machine" is the test's
# own: reboot_command only asks the switch, which restarts this host's sshd
# with a new boot id; boot_time_command reads that id.
REBOOTING = """\
- name: Upgrade the application
  ansible.builtin.copy:
    dest: "{{ demo_disk }}/app.conf"
    content: "version=2\\n"
    mode: "0644"

- name: Reboot into the new version
  ansible.builtin.reboot:
    reboot_command: "touch {{ switch_folder }}/reboot"
    boot_time_command: "cat {{ switch_folder }}/boot-id"
    test_command: "test -e {{ switch_folder }}/reboot.done"
    reboot_timeout: 120
"""


class Switch(threading.Thread):
    """Takes a host down, brings it back, or reboots it, when its patch asks through a request file."""

    def __init__(self, folder, daemon):
        super().__init__(daemon=True)
        self.folder, self.sshd = folder, daemon
        self.stopped = threading.Event()
        self.done = []
        os.makedirs(folder, exist_ok=True)
        self.boot = 1
        self._write("boot-id", "boot-1\n")

    def _write(self, name, text=""):
        with open(os.path.join(self.folder, name), "w") as handle:
            handle.write(text)

    def run(self):
        actions = {"down": self.sshd.power_off, "up": self.sshd.start, "reboot": self._reboot}
        while not self.stopped.wait(0.05):
            for request, action in actions.items():
                path = os.path.join(self.folder, request)
                if os.path.exists(path) and request not in self.done:
                    action()
                    self.done.append(request)
                    self._write(request + ".done")

    def _reboot(self):
        self.sshd.power_off()
        self.boot += 1
        self._write("boot-id", "boot-%d\n" % self.boot)
        self.sshd.start()

    def stop(self):
        self.stopped.set()
        self.join(timeout=30)


class Lab:
    """One host over SSH, its switch, a restore that reboots it, and the simulator behind it."""

    def __init__(self, folder, patch_text):
        self.folder = folder
        self.ssh = SshLab(folder)
        self.fleet = Fleet(os.path.join(folder, "fleet"), (("web-01", 101, None),), durations=FAST)
        self.daemon = self.ssh.add("web-01")
        self.switch = Switch(os.path.join(folder, "switch"), self.daemon)
        self.reboot_on_restore = RebootOnRestore(self.fleet.sim, 101, self.daemon)
        self.patch = os.path.join(folder, "patch.yml")
        with open(self.patch, "w") as handle:
            handle.write(patch_text)
        self.switch_tasks = os.path.join(folder, "switch.yml")
        with open(self.switch_tasks, "w") as handle:
            handle.write(SWITCH_TASKS)

    def run(self, extra_vars=None, **kwargs):
        self.switch.start()
        self.reboot_on_restore.start()
        host_vars = {"web-01": dict(self.daemon.inventory_vars(self.ssh.key), switch_folder=self.switch.folder,
                                    switch_tasks=self.switch_tasks, patch_with_rollback_verify_timeout=120,
                                    patch_with_rollback_restore_verify_timeout=120)}
        variables = {"patch_with_rollback_patch_tasks": self.patch}
        variables.update(extra_vars or {})
        try:
            return self.fleet.run(variables, extra_host_vars=host_vars, env=ssh_env(self.ssh.control_dir), **kwargs)
        finally:
            self.switch.stop()
            self.reboot_on_restore.stop()

    def close(self):
        self.fleet.stop()
        self.ssh.close()


@pytest.fixture
def make_lab(tmp_path):
    made = []

    def make(patch_text):
        made.append(Lab(str(tmp_path), patch_text))
        return made[-1]

    yield make
    for lab in made:
        lab.close()


def assert_cause_for_every_status_but_patched(report):
    for name, entry in report["hosts"].items():
        if entry["status"] != "patched":
            assert entry["cause"], (name, entry)


@pytest.mark.parametrize("flags", [
    "",
    # The user's own settings cannot hide a step that did not run.
    "  ignore_unreachable: true\n  ignore_errors: true\n",
], ids=["plain", "user-ignores-unreachable-and-errors"])
def test_a_host_down_in_the_middle_of_its_patch_is_rolled_back_not_patched(make_lab, flags):
    lab = make_lab(HALF_DONE % {"flags": flags})
    process, report = lab.run()
    assert report is not None, process.stdout[-4000:] + process.stderr[-2000:]
    entry = report["hosts"]["web-01"]
    assert lab.switch.done == ["down", "up"], process.stdout[-4000:]
    assert entry["status"] == "rolled_back", process.stdout[-6000:]
    assert entry["failed_phase"] == "patch"
    assert entry["unreachable_tasks"] == ["Patch step 2 of 3", "Patch step 3 of 3"], entry["durations"]
    assert entry["cause"].startswith("Patch incomplete: the host was unreachable during the patch, so tasks"
                                     " 'Patch step 2 of 3', 'Patch step 3 of 3' could not run"), entry["cause"]
    assert entry["cause"] in entry["message"]
    # Restored from its own snapshot, which is kept; the disk is back at the pre-patch version.
    snapshots = lab.fleet.sim.state.list_snapshots(101)
    assert [s["id"] for s in snapshots] == [entry["snapshot_id"]] and entry["snapshot_kept"]
    restores = [e["path"] for e in lab.fleet.sim.log.entries() if e["method"] == "POST" and e["path"].endswith("/restore/")]
    assert restores == ["/api/v1/snapshots/%d/restore/" % entry["snapshot_id"]]
    disk = lab.fleet.disk("web-01")
    assert read(os.path.join(disk, "app.conf")) == "version=1\n"
    assert not os.path.exists(os.path.join(disk, "step-2")) and not os.path.exists(os.path.join(disk, "step-3"))
    assert lab.reboot_on_restore.boots == 1
    assert process.returncode == 2
    assert_cause_for_every_status_but_patched(report)


def test_a_patch_whose_own_reboot_completes_is_patched(make_lab):
    lab = make_lab(REBOOTING)
    process, report = lab.run()
    assert report is not None, process.stdout[-4000:] + process.stderr[-2000:]
    entry = report["hosts"]["web-01"]
    assert lab.switch.done == ["reboot"], process.stdout[-4000:]
    assert entry["status"] == "patched", process.stdout[-6000:]
    assert "unreachable_tasks" not in entry and entry["cause"] is None
    assert read(os.path.join(lab.fleet.disk("web-01"), "app.conf")) == "version=2\n"
    assert lab.fleet.sim.state.list_snapshots(101) == []  # cleaned up
    assert lab.reboot_on_restore.boots == 0
    assert process.returncode == 0


def recap(stdout):
    """{host: {"ok": n, "failed": n, ...}} from the last PLAY RECAP."""
    text = stdout[stdout.rindex("PLAY RECAP"):]
    return {match.group(1): {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match.group(2))}
            for match in re.finditer(r"^(\S+)\s+:\s+(.*)$", text, re.M)}


# Local hosts are enough for the report's place: no host needs SSH here.
TWO_HOSTS = (("web-01", 101, None), ("web-02", 102, "health"))


@pytest.fixture
def make_fleet(tmp_path):
    made = []

    def make(hosts=TWO_HOSTS):
        made.append(Fleet(str(tmp_path), hosts, durations=FAST))
        return made[-1]

    yield make
    for fleet in made:
        fleet.stop()


def test_a_report_path_that_cannot_be_written_is_refused_before_any_snapshot(make_fleet, tmp_path):
    fleet = make_fleet()
    missing = os.path.join(str(tmp_path), "no-such-folder", "report.json")
    process, _report = fleet.run(report_path=missing)
    posts = [e for e in fleet.sim.log.entries() if e["method"] in ("POST", "DELETE")]
    assert posts == [], process.stdout[-4000:]
    assert fleet.sim.state.list_snapshots() == []
    expected = "The report cannot be written to %s: the folder %s does not exist." % (missing, os.path.dirname(missing))
    assert process.stdout.count(expected) >= 2, process.stdout[-4000:]
    assert "The report was NOT written to %s" % missing in process.stdout
    assert {host: counts["failed"] for host, counts in recap(process.stdout).items()} == {"web-01": 1, "web-02": 1}
    assert read(os.path.join(fleet.disk("web-01"), "app.conf")) == "version=1\n"


class RemoveWhileRestoring(threading.Thread):
    """Removes a folder while a server's restore is held in progress, then lets the restore end."""

    def __init__(self, sim, server_id, folder):
        super().__init__(daemon=True)
        self.sim, self.server_id, self.folder = sim, server_id, folder
        self.stopped = threading.Event()
        sim.state.hold("restore", server_id)

    def run(self):
        while not self.stopped.wait(0.05):
            if self.sim.state.server_view(self.server_id)["status"] == "restoring":
                shutil.rmtree(self.folder)
                self.sim.state.release("restore", self.server_id)
                return

    def stop(self):
        self.stopped.set()
        self.join(timeout=30)


def test_a_report_that_cannot_be_written_at_the_end_still_fails_exactly_the_hosts_not_patched(make_fleet, tmp_path):
    """The rolled-back host ends failed and the patched one ok, though the report's folder is gone."""
    fleet = make_fleet()
    folder = os.path.join(str(tmp_path), "reports")
    os.makedirs(folder)
    path = os.path.join(folder, "report.json")
    remover = RemoveWhileRestoring(fleet.sim, 102, folder)
    remover.start()
    try:
        process, report = fleet.run(report_path=path)
    finally:
        remover.stop()
    assert report is None and not os.path.exists(folder), process.stdout[-4000:]
    counts = recap(process.stdout)
    assert {host: c["failed"] for host, c in counts.items()} == {"web-01": 0, "web-02": 1}, process.stdout[-4000:]
    assert process.returncode == 2
    summary = process.stdout[process.stdout.index("Summarize the run"):]
    assert "The report was NOT written to %s" % path in summary
    assert "set_stats" in summary
    assert re.search(r"web-01\s+patched", summary) and re.search(r"web-02\s+rolled_back", summary), summary[:3000]
    assert read(os.path.join(fleet.disk("web-01"), "app.conf")) == "version=2\n"
    assert read(os.path.join(fleet.disk("web-02"), "app.conf")) == "version=1\n"


def test_a_play_without_the_collections_strategy_is_refused_before_any_snapshot(make_fleet, tmp_path):
    """The role in a play of the user's own, under Ansible's plain strategy: it cannot see a lost task."""
    fleet = make_fleet((("web-01", 101, None),))
    playbook = tmp_path / "plain.yml"
    playbook.write_text(textwrap.dedent("""\
        - hosts: all
          gather_facts: false
          roles:
            - role: vpsorg.cloud.patch_with_rollback
        """))
    inventory = fleet.inventory()
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", **fleet.env())
    report = os.path.join(str(tmp_path), "plain-report.json")
    process = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, str(playbook),
         "-e", json.dumps({"patch_with_rollback_patch_tasks": os.path.join(ROOT, "demo", "patch_tasks.yml"),
                           "patch_with_rollback_report_path": report})],
        env=env, capture_output=True, text=True, timeout=600, check=False)
    with open(report) as handle:
        entry = json.load(handle)["hosts"]["web-01"]
    assert entry["status"] == "not_patched", process.stdout[-4000:]
    assert "Set strategy: vpsorg.cloud.linear (or vpsorg.cloud.free) on the play" in entry["cause"]
    assert [e for e in fleet.sim.log.entries() if e["method"] in ("POST", "DELETE")] == []
    assert process.returncode == 2
