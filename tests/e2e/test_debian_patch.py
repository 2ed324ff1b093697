"""The role's built-in patch, run for real: Debian hosts upgraded by apt, rolled back through the API.

Each host is a copy of a minimal Debian root with its own sshd in a sandbox
(debian_host.py says how the machine running the tests is kept safe). Its
only apt source is a repository on its disk offering vpsorg-e2e-app:
version 1 is installed, 2 is a good upgrade that asks for a reboot, 3 has a
postinst that fails. The simulator's server owns the host's disk: a
snapshot copies it (cp -a), a restore powers the host off, puts the copy
back and boots it. The playbook is the collection's own, with the built-in
patch (no patch_with_rollback_patch_tasks), run twice over five such hosts,
one per scenario (FLEET): first as a dry run, then for real, every host in
one wave.

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

# name, server id, vpsorg-e2e-app versions its repository offers, what happens to it
FLEET = (
    ("deb-good", 301, ("1", "2"), "upgraded to 2, which asks for a reboot: rebooted, verified, patched"),
    ("deb-broken", 302, ("1", "3"), "3's postinst fails: rolled back to 1"),
    ("deb-lost", 303, ("1", "2"), "upgraded to 2, but it does not come back from the reboot: restored"),
    ("deb-apk", 304, ("1", "2"), "looks like Alpine (apk): refused by the built-in patch, restored"),
    ("deb-arch", 305, ("1", "2"), "no apt, dnf or yum at all: refused in preflight, never snapshotted"),
)
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
        print("base root ready in %.1f s" % (time.monotonic() - started))
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
        print("%s: copy of the root in %.1f s" % (name, host.copy_seconds))
        self.hosts.append(host)
        return host

    def simulator(self, servers):
        """A simulator whose servers ({server id: host}) own their hosts' disks and power."""
        sim = SimServer(token="debian-%s" % secrets.token_hex(8), storage_dir=os.path.join(self.folder, "sim-storage"))
        sim.state.configure(durations=FAST, disk_copy="cp")
        for server_id, host in servers.items():
            sim.state.add_server(server_id, host.name, host.disk)
            sim.state.attach_machine(server_id, host)
        return sim.start()

    def run(self, sim, servers, host_vars=None, extra_vars=None, args=()):
        """Run the collection's playbook over ``servers`` ({server id: running host}); return (process, report)."""
        hosts = {}
        for server_id, host in servers.items():
            hosts[host.name] = dict(host.inventory_vars(self.key), vpsorg_server_id=server_id,
                                    patch_with_rollback_verify_port=host.port,
                                    patch_with_rollback_verify_tasks=self.health_tasks,
                                    patch_with_rollback_verify_timeout=120,
                                    patch_with_rollback_restore_verify_timeout=120,
                                    patch_with_rollback_reboot_timeout=300)
            hosts[host.name].update((host_vars or {}).get(host.name, {}))
        inventory = os.path.join(self.folder, "inventory.json")
        report = os.path.join(self.folder, "report.json")
        with open(inventory, "w") as handle:
            json.dump({"all": {"hosts": hosts}}, handle, indent=2)
        if os.path.exists(report):
            os.unlink(report)
        variables = dict(extra_vars or {}, patch_with_rollback_report_path=report)
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False",
                   ANSIBLE_SSH_CONTROL_PATH_DIR=self.control_dir, ANSIBLE_COLLECTIONS_PATH=collections_path(),
                   VPSORG_API_URL=sim.api_url, VPSORG_API_TOKEN=sim.token)
        command = [os.path.join(BIN, "ansible-playbook"), "-i", inventory,
                   os.path.join(ROOT, "playbooks", "patch_with_rollback.yml"), "-e", json.dumps(variables)] + list(args)
        started = time.monotonic()
        process = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
        result = None
        if os.path.exists(report):
            with open(report) as handle:
                result = json.load(handle)["hosts"]
        print("playbook%s: %.1f s; per host: %s" % (" " + " ".join(args) if args else "", time.monotonic() - started, {
            name: entry.get("durations", {}).get("total") for name, entry in (result or {}).items()}))
        return process, result

    def close(self):
        for host in self.hosts:
            host.power_off()
        shutil.rmtree(self.control_dir, ignore_errors=True)
        debian_root.remove_tree(self.folder)


@pytest.fixture(scope="module")
def lab():
    # Not under pytest's tmp folder, which keeps old runs: a lab holds whole roots (see scratch_dir).
    made = Lab(debian_host.scratch_dir("vpsorg-debian-"))
    try:
        yield made
    finally:
        made.close()


class FleetRuns:
    """The dry run and then the real run of the playbook over FLEET, and what each left."""

    def __init__(self, lab):
        self.lab = lab
        self.hosts = {name: lab.host(name, offered) for name, _id, offered, _what in FLEET}
        self.server_ids = {name: server_id for name, server_id, _offered, _what in FLEET}
        self.hosts["deb-lost"].comes_back = False
        disguise_as_alpine(self.hosts["deb-apk"])
        without_apt(self.hosts["deb-arch"])
        servers = {server_id: self.hosts[name] for name, server_id in self.server_ids.items()}
        self.sim = lab.simulator(servers)
        for host in self.hosts.values():
            host.boot()
        for host in self.hosts.values():
            host.wait_until_listening()
        every_host_at_once = {"patch_with_rollback_first_wave": "100%"}

        self.dry_process, self.dry = lab.run(self.sim, servers, extra_vars=every_host_at_once, args=["--check"])
        self.dry_requests = self.sim.log.entries()
        self.after_dry_run = {name: (host.package_version(), host.boots, list(host.endings),
                                     os.path.exists(host.path("/var/lib/vpsorg-patch-with-rollback")),
                                     sorted(os.listdir(host.path("/var/lib/apt/lists"))))
                              for name, host in self.hosts.items()}
        self.dry_snapshots = self.sim.state.list_snapshots()
        self.sim.log.clear()

        # Waiting for a host that never comes back: any timeout ends the same way.
        self.process, self.report = lab.run(self.sim, servers, extra_vars=every_host_at_once,
                                            host_vars={"deb-lost": {"patch_with_rollback_reboot_timeout": 15}})
        self.requests = self.sim.log.entries()

    def output(self):
        return self.process.stdout[-10000:] + self.process.stderr[-3000:]

    def restored(self):
        """Snapshot ids restored, in request order."""
        return [int(e["path"].split("/")[-3]) for e in self.requests
                if e["method"] == "POST" and e["path"].endswith("/restore/")]

    def deleted(self):
        return [int(e["path"].split("/")[-2]) for e in self.requests if e["method"] == "DELETE"]

    def close(self):
        self.sim.stop()


def disguise_as_alpine(host):
    """No dnf or yum here: an Alpine look (os-release, an apk) gets the refusal every unknown manager gets."""
    with open(host.path("/etc/os-release"), "w") as handle:
        handle.write('NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.0\nPRETTY_NAME="Alpine Linux v3.20"\n')
    with open(host.path("/usr/sbin/apk"), "w") as handle:
        handle.write("#!/bin/sh\necho 'apk: not on this host' >&2\nexit 1\n")
    os.chmod(host.path("/usr/sbin/apk"), 0o755)


def without_apt(host):
    """None of the files the built-in patch's package managers are known by (an Arch look, pacman only)."""
    os.unlink(host.path("/usr/bin/apt-get"))
    with open(host.path("/etc/os-release"), "w") as handle:
        handle.write('NAME="Arch Linux"\nID=arch\nPRETTY_NAME="Arch Linux"\n')
    with open(host.path("/usr/bin/pacman"), "w") as handle:
        handle.write("#!/bin/sh\necho 'pacman: not on this host' >&2\nexit 1\n")
    os.chmod(host.path("/usr/bin/pacman"), 0o755)


@pytest.fixture(scope="module")
def runs(lab):
    made = FleetRuns(lab)
    try:
        yield made
    finally:
        made.close()


def test_a_dry_run_installs_nothing_and_takes_no_snapshot(runs):
    assert runs.dry is not None, runs.dry_process.stdout[-6000:]
    # The dry run already tells which host the built-in patch could not upgrade.
    assert {name: entry["status"] for name, entry in runs.dry.items()} == dict(
        dict.fromkeys(runs.hosts, "would_patch"), **{"deb-arch": "not_patched"})
    assert runs.dry["deb-arch"]["cause"] == runs.report["deb-arch"]["cause"]
    assert all(entry["dry_run"] for entry in runs.dry.values())
    assert runs.dry_process.returncode == 0, runs.dry_process.stdout[-6000:]
    assert [e["method"] for e in runs.dry_requests if e["method"] != "GET"] == []
    assert runs.dry_snapshots == []
    # Version 1 still, never rebooted, not even the apt lists fetched, no record of the role on the host.
    assert runs.after_dry_run == dict.fromkeys(runs.hosts, (("1", "ii"), 1, [], False, []))


def test_a_good_upgrade_that_wants_a_reboot_is_patched_after_the_reboot(runs):
    entry, host = runs.report and runs.report["deb-good"], runs.hosts["deb-good"]
    assert entry is not None, runs.output()
    assert entry["status"] == "patched", runs.output()
    assert host.package_version() == ("2", "ii")
    assert host.read(debian_host.HEALTH_FILE) == "ok 2\n"
    # The simulated reboot: the host went down from inside and booted again, with a new boot id.
    assert host.endings == [debian_host.REBOOTED] and host.boots == 2
    # Its snapshot was never restored, and deleted once the host was verified.
    assert entry["snapshot_id"] not in runs.restored()
    assert runs.deleted() == [entry["snapshot_id"]]
    assert runs.sim.state.list_snapshots(runs.server_ids["deb-good"]) == [] and not entry["snapshot_kept"]


def test_an_upgrade_whose_postinst_fails_is_rolled_back_to_version_1(runs):
    entry, host = runs.report and runs.report["deb-broken"], runs.hosts["deb-broken"]
    assert entry is not None, runs.output()
    assert entry["status"] == "rolled_back", runs.output()
    assert entry["failed_phase"] == "patch"
    # Which package failed, and how, as dpkg said it; not only apt's last line.
    assert entry["cause"] == (
        "The apt upgrade failed: dpkg: error processing package vpsorg-e2e-app (--configure):"
        " installed vpsorg-e2e-app package post-installation script subprocess returned error exit status 1"
        " E: Sub-process /usr/bin/dpkg returned an error code (1)"), entry["cause"]
    # Restored from the snapshot: version 1 installed and configured, with its files.
    assert host.package_version() == ("1", "ii")
    assert host.read(debian_host.VERSION_FILE) == "1\n"
    assert host.read(debian_host.HEALTH_FILE) == "ok 1\n"
    assert runs.restored().count(entry["snapshot_id"]) == 1
    # Powered off by the restore and booted again after it; never rebooted from inside.
    assert host.endings == ["power_off"] and host.boots == 2
    assert [s["id"] for s in runs.sim.state.list_snapshots(runs.server_ids["deb-broken"])] == [entry["snapshot_id"]]


def test_a_host_that_does_not_come_back_from_its_reboot_is_restored(runs):
    entry, host = runs.report and runs.report["deb-lost"], runs.hosts["deb-lost"]
    assert entry is not None, runs.output()
    assert entry["status"] == "rolled_back", runs.output()
    # Rolled back as soon as the reboot gave up, not after the verification's timeouts too.
    assert entry["failed_phase"] == "patch"
    # The reboot that never came back is a task that could not reach the host: the patch is incomplete.
    assert entry["cause"].startswith(
        "Patch incomplete: the host was unreachable during the patch, so task 'Reboot' could not run"), entry["cause"]
    assert entry["unreachable_tasks"] == ["Reboot"]
    # Down after the reboot until the restore booted it, on version 1 again.
    assert host.endings == [debian_host.REBOOTED] and host.boots == 2
    assert host.package_version() == ("1", "ii")
    assert host.read(debian_host.HEALTH_FILE) == "ok 1\n"
    assert runs.restored().count(entry["snapshot_id"]) == 1


def test_a_package_manager_the_built_in_patch_does_not_know_is_refused(runs):
    entry, host = runs.report and runs.report["deb-apk"], runs.hosts["deb-apk"]
    assert entry is not None, runs.output()
    assert entry["status"] == "rolled_back", runs.output()
    assert entry["cause"].startswith("Refuse package managers the built-in patch does not know: "
                                     "The built-in patch knows apt, dnf and yum, not apk;"), entry["cause"]
    assert host.package_version() == ("1", "ii")
    assert runs.restored().count(entry["snapshot_id"]) == 1


def test_a_host_without_apt_dnf_or_yum_is_refused_before_its_snapshot(runs):
    entry, host = runs.report and runs.report["deb-arch"], runs.hosts["deb-arch"]
    assert entry is not None, runs.output()
    assert entry["status"] == "not_patched", runs.output()
    assert entry["preflight"]["passed"] is False
    assert entry["cause"] == (
        "The built-in patch upgrades with apt, dnf or yum, and the host has none of them (no /usr/bin/apt-get, "
        "/usr/bin/dnf, /usr/bin/dnf-3, /usr/bin/dnf5, /usr/bin/microdnf or /usr/bin/yum). Set "
        "patch_with_rollback_patch_tasks to a tasks file of your own that patches it.")
    assert entry["snapshot_id"] is None
    # Never snapshotted: the fleet's POSTs are the other four hosts' (test_the_run_over_the_fleet).
    assert runs.sim.state.list_snapshots(runs.server_ids["deb-arch"]) == []
    assert host.package_version() == ("1", "ii") and host.boots == 1 and host.endings == []


def test_the_run_over_the_fleet(runs):
    assert runs.report is not None, runs.output()
    assert {name: entry["status"] for name, entry in runs.report.items()} == {
        "deb-good": "patched", "deb-broken": "rolled_back", "deb-lost": "rolled_back", "deb-apk": "rolled_back",
        "deb-arch": "not_patched"}
    assert runs.process.returncode == 2  # the hosts that were not patched end failed
    assert [e["method"] for e in runs.requests].count("POST") == 4 + 3  # a snapshot each, three restores
    assert sorted(runs.restored()) == sorted(runs.report[name]["snapshot_id"]
                                             for name in ("deb-broken", "deb-lost", "deb-apk"))


def test_the_host_cannot_reach_the_machine(lab):
    """What debian_host's docstring promises, checked inside a running host."""
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
        mounts = [line.split() for line in open("/proc/self/mountinfo")]
        print("mounts", " ".join(sorted(m[4] + ("(ro)" if "ro" in m[5].split(",") else "") for m in mounts
                                        if m[4] != "/proc/sysrq-trigger")))
        """) % marker
    host.boot()
    host.wait_until_listening()
    out = subprocess.run(["ssh", "-i", lab.key, "-p", str(host.port), "-o", "BatchMode=yes",
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                          "root@127.0.0.1", "python3", "-"], input=probe, capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    # Nothing of the machine is mounted: the disk as /, and what BOOT makes (/proc/sysrq-trigger
    # read-only too, on kernels that have it).
    assert out == ["reboot EPERM", "mknod EPERM", "sysctl writable False", "pid1 " + debian_host.INIT_PATH,
                   "machine file visible False", "CAP_SYS_ADMIN False CAP_SYS_BOOT False",
                   "mounts / /dev/pts /dev/shm /proc /proc/bus(ro) /proc/irq(ro) /proc/sys(ro)"
                   " /proc/sys/kernel/random/boot_id(ro) /run"]
