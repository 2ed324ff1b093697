"""The role's built-in patch, run for real: Debian hosts upgraded by apt, rolled back through the API.

Each host is a copy of a minimal Debian root with its own sshd in a sandbox
(debian_host.py says how the machine running the tests is kept safe). Its
only apt source is a repository on its disk offering vpsorg-e2e-app:
version 1 is installed, 2 is a good upgrade that asks for a reboot, 3 has a
postinst that fails. The simulator's server owns the host's disk: a
snapshot copies it (cp -a), a restore powers the host off, puts the copy
back and boots it. The playbook is the collection's own, with the built-in
patch (no patch_with_rollback_patch_tasks); each test is one run of it.

These tests need root and the cached root (built on first use, minutes):
scripts/test runs them in a lane of their own (``-m debian``).
"""

import json
import os
import secrets
import shutil
import subprocess
import textwrap
import time

import pytest

import debian_host
import debian_root
import sshd
from conftest import BIN, ROOT, collections_path

from vpsorg_sim import SimServer

pytestmark = pytest.mark.debian

SERVER_ID = 301
FAST = {"snapshot": 0.3, "backup": 0.3, "restore": 0.5}

# The check after the patch and after a restore: every good version's postinst writes "ok VERSION".
HEALTH_TASKS = textwrap.dedent("""\
    - name: Read the application's health file
      ansible.builtin.slurp:
        path: %s
      register: e2e_health

    - name: The application says it is healthy
      ansible.builtin.assert:
        that: (e2e_health.content | b64decode).startswith('ok ')
    """) % debian_host.HEALTH_FILE


class Lab:
    """The packages, the base root every host copies, the controller's key, and the hosts made."""

    def __init__(self, folder):
        if os.geteuid() != 0:
            pytest.fail("the Debian hosts need root (namespaces, pivot_root, device nodes)")
        self.folder = folder
        self.packages = debian_host.build_packages(os.path.join(folder, "packages"))
        started = time.monotonic()
        self.base = debian_host.prepare_base(os.path.join(folder, "base"), self.packages)
        self.base_seconds = time.monotonic() - started
        self.key = sshd.client_key(folder)
        self.control_dir = sshd.control_path_dir()
        self.health_tasks = os.path.join(folder, "health.yml")
        with open(self.health_tasks, "w") as handle:
            handle.write(HEALTH_TASKS)
        self.hosts = []

    def host(self, name, offered):
        """A new host whose repository offers vpsorg-e2e-app in the versions ``offered``."""
        host = debian_host.DebianHost(os.path.join(self.folder, name), self.base, name, self.key,
                                      offered=[self.packages[version] for version in offered])
        self.hosts.append(host)
        return host

    def run(self, host, host_vars=None, args=()):
        """Boot ``host``, run the collection's playbook on it against a new simulator; return a PatchRun."""
        sim = SimServer(token="debian-%s" % secrets.token_hex(8), storage_dir=os.path.join(host.folder, "sim-storage"))
        sim.state.configure(durations=FAST, disk_copy="cp")
        sim.state.add_server(SERVER_ID, host.name, host.disk)
        sim.state.attach_machine(SERVER_ID, host)
        sim.start()
        try:
            host.boot()
            host.wait_until_listening()
            variables = dict(host.inventory_vars(self.key), vpsorg_server_id=SERVER_ID,
                             patch_with_rollback_verify_port=host.port,
                             patch_with_rollback_verify_tasks=self.health_tasks,
                             patch_with_rollback_verify_timeout=120,
                             patch_with_rollback_restore_verify_timeout=120,
                             patch_with_rollback_reboot_timeout=300)
            variables.update(host_vars or {})
            inventory = os.path.join(host.folder, "inventory.json")
            report = os.path.join(host.folder, "report.json")
            with open(inventory, "w") as handle:
                json.dump({"all": {"hosts": {host.name: variables}}}, handle, indent=2)
            env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False",
                       ANSIBLE_SSH_CONTROL_PATH_DIR=self.control_dir, ANSIBLE_COLLECTIONS_PATH=collections_path(),
                       VPSORG_API_URL=sim.api_url, VPSORG_API_TOKEN=sim.token)
            command = [os.path.join(BIN, "ansible-playbook"), "-i", inventory,
                       os.path.join(ROOT, "playbooks", "patch_with_rollback.yml"),
                       "-e", json.dumps({"patch_with_rollback_report_path": report})] + list(args)
            started = time.monotonic()
            process = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200, check=False)
            seconds = time.monotonic() - started
            result = None
            if os.path.exists(report):
                with open(report) as handle:
                    result = json.load(handle)["hosts"][host.name]
            return PatchRun(sim, host, process, result, seconds)
        finally:
            sim.stop()

    def close(self):
        for host in self.hosts:
            host.power_off()
        shutil.rmtree(self.control_dir, ignore_errors=True)
        debian_root.remove_tree(self.folder)


class PatchRun:
    def __init__(self, sim, host, process, result, seconds):
        self.sim, self.host, self.process, self.result, self.seconds = sim, host, process, result, seconds
        print("%s: playbook %.1f s, host copy %.1f s, durations %s" % (
            host.name, seconds, host.copy_seconds, (result or {}).get("durations")))

    def output(self):
        return self.process.stdout[-8000:] + self.process.stderr[-3000:]

    def requests(self, method, suffix=""):
        return [(e["method"], e["path"]) for e in self.sim.log.entries()
                if e["method"] == method and e["path"].endswith(suffix)]

    def snapshot_posts(self):
        return self.requests("POST", "/snapshots/")

    def restores(self):
        return self.requests("POST", "/restore/")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    # Not under pytest's tmp folder, which keeps old runs: each lab holds whole roots.
    folder = debian_host.scratch_dir("vpsorg-debian-")
    made = Lab(folder)
    try:
        yield made
    finally:
        made.close()


def test_a_good_upgrade_that_wants_a_reboot_is_patched_after_the_reboot(lab):
    host = lab.host("deb-good", offered=["1", "2"])
    run = lab.run(host)
    assert run.result is not None, run.output()
    assert run.result["status"] == "patched", run.output()
    assert host.package_version() == ("2", "ii")
    assert host.read(debian_host.HEALTH_FILE) == "ok 2\n"
    # The simulated reboot: the host went down from inside and booted again (a new boot id).
    assert host.endings == [debian_host.REBOOTED] and host.boots == 2
    # The snapshot was taken once, never restored, and deleted after the verification.
    snapshot_id = run.result["snapshot_id"]
    assert run.snapshot_posts() == [("POST", "/api/v1/snapshots/")]
    assert run.restores() == []
    assert run.requests("DELETE") == [("DELETE", "/api/v1/snapshots/%d/" % snapshot_id)]
    assert run.sim.state.list_snapshots(SERVER_ID) == [] and not run.result["snapshot_kept"]
    assert run.process.returncode == 0, run.output()


def test_an_upgrade_whose_postinst_fails_is_rolled_back_to_version_1(lab):
    host = lab.host("deb-broken", offered=["1", "3"])
    run = lab.run(host)
    assert run.result is not None, run.output()
    assert run.result["status"] == "rolled_back", run.output()
    assert run.result["failed_phase"] == "patch"
    # Which package failed, and how, as dpkg said it; not only apt's last line.
    assert run.result["cause"] == (
        "The apt upgrade failed: dpkg: error processing package vpsorg-e2e-app (--configure):"
        " installed vpsorg-e2e-app package post-installation script subprocess returned error exit status 1"
        " E: Sub-process /usr/bin/dpkg returned an error code (1)"), run.result["cause"]
    # Restored from the snapshot: version 1 installed and configured, with its files.
    assert host.package_version() == ("1", "ii")
    assert host.read(debian_host.VERSION_FILE) == "1\n"
    assert host.read(debian_host.HEALTH_FILE) == "ok 1\n"
    snapshot_id = run.result["snapshot_id"]
    assert run.restores() == [("POST", "/api/v1/snapshots/%d/restore/" % snapshot_id)]
    # Booted once at the start, powered off by the restore, booted again after it; no reboot.
    assert host.endings == ["power_off"] and host.boots == 2
    assert [s["id"] for s in run.sim.state.list_snapshots(SERVER_ID)] == [snapshot_id]
    assert run.process.returncode == 2


def test_a_host_that_does_not_come_back_from_its_reboot_is_restored(lab):
    host = lab.host("deb-lost", offered=["1", "2"])
    host.comes_back = False
    # Waiting for a host that never comes back: any timeout ends the same way.
    run = lab.run(host, host_vars={"patch_with_rollback_reboot_timeout": 15})
    assert run.result is not None, run.output()
    assert run.result["status"] == "rolled_back", run.output()
    # Rolled back as soon as the reboot gave up, not after the verification's timeouts too.
    assert run.result["failed_phase"] == "patch"
    assert run.result["cause"].startswith(
        "Check that the host came back from the reboot: The host did not answer within 15 s of its reboot"
        " (patch_with_rollback_reboot_timeout): "), run.result["cause"]
    # Down after the reboot until the restore booted it: back at version 1.
    assert host.endings == [debian_host.REBOOTED] and host.boots == 2
    assert host.package_version() == ("1", "ii")
    assert host.read(debian_host.HEALTH_FILE) == "ok 1\n"
    assert run.restores() == [("POST", "/api/v1/snapshots/%d/restore/" % run.result["snapshot_id"])]


def test_a_dry_run_installs_nothing_and_takes_no_snapshot(lab):
    host = lab.host("deb-dry", offered=["1", "2"])
    run = lab.run(host, args=["--check"])
    assert run.result is not None, run.output()
    assert run.result["status"] == "would_patch", run.output()
    assert run.result["dry_run"] is True
    assert run.snapshot_posts() == [] and run.restores() == [] and run.requests("DELETE") == []
    assert run.sim.state.list_snapshots(SERVER_ID) == []
    assert host.package_version() == ("1", "ii")
    assert host.read(debian_host.HEALTH_FILE) == "ok 1\n"
    # Not even the apt lists were fetched, and the role left no record on the host.
    assert os.listdir(debian_host.inside(host.disk, "/var/lib/apt/lists")) in ([], ["partial"], ["lock", "partial"])
    assert not os.path.exists(debian_host.inside(host.disk, "/var/lib/vpsorg-patch-with-rollback"))
    assert host.endings == [] and host.boots == 1
    assert run.process.returncode == 0, run.output()


def test_a_package_manager_the_built_in_patch_does_not_know_is_refused(lab):
    """dnf and yum cannot run here; an Alpine host (apk) shows the refusal the other managers get."""
    host = lab.host("deb-apk", offered=["1", "2"])
    with open(debian_host.inside(host.disk, "/etc/os-release"), "w") as handle:
        handle.write('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.0\nPRETTY_NAME="Alpine Linux v3.20"\n')
    with open(debian_host.inside(host.disk, "/usr/sbin/apk"), "w") as handle:
        handle.write("#!/bin/sh\necho 'apk: not here' >&2\nexit 1\n")
    os.chmod(debian_host.inside(host.disk, "/usr/sbin/apk"), 0o755)
    run = lab.run(host)
    assert run.result is not None, run.output()
    assert run.result["status"] == "rolled_back", run.output()
    assert "knows apt, dnf and yum, not apk" in run.result["cause"], run.result["cause"]
    assert host.package_version() == ("1", "ii")
    assert len(run.restores()) == 1


def test_the_host_cannot_reach_the_machine(lab):
    """What debian_host's docstring promises, checked inside a running host's sandbox."""
    host = lab.host("deb-safety", offered=["1"])
    marker = os.path.join(lab.folder, "machine-only")
    with open(marker, "w") as handle:
        handle.write("the machine's\n")
    probe = textwrap.dedent("""\
        import ctypes, errno, os
        libc = ctypes.CDLL(None, use_errno=True)
        # reboot(2) with wrong magic numbers: EPERM without CAP_SYS_BOOT, EINVAL (and no reboot) with it.
        libc.syscall(169, 0, 0, 0, 0)
        print("reboot", errno.errorcode[ctypes.get_errno()])
        try:
            os.mknod("/tmp/disk", 0o600 | 0o60000, os.makedev(254, 0))
            print("mknod allowed")
        except PermissionError:
            print("mknod EPERM")
        print("sysctl writable", os.access("/proc/sys/kernel/hostname", os.W_OK))
        print("pid1", open("/proc/1/cmdline").read().split("\\0")[1])
        print("machine file visible", os.path.exists(%r))
        bounding = int([l for l in open("/proc/self/status") if l.startswith("CapBnd")][0].split()[1], 16)
        print("CAP_SYS_ADMIN", bool(bounding >> 21 & 1), "CAP_SYS_BOOT", bool(bounding >> 22 & 1))
        """) % marker
    host.boot()
    host.wait_until_listening()
    out = subprocess.run(["ssh", "-i", lab.key, "-p", str(host.port), "-o", "BatchMode=yes",
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                          "root@127.0.0.1", "python3", "-"], input=probe, capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out == ["reboot EPERM", "mknod EPERM", "sysctl writable False", "pid1 " + debian_host.INIT_PATH,
                   "machine file visible False", "CAP_SYS_ADMIN False CAP_SYS_BOOT False"]
