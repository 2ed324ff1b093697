"""Real Debian hosts for the end-to-end tests: a copy of the cached root (debian_root.py) each, with its own sshd.

A host is a folder, its disk, that a simulator server owns (snapshots copy
it, a restore puts a copy back), and a sandbox that "boots" it: sshd on a
loopback port, run from the disk. The controller reaches it over real SSH;
apt, dpkg and the package scripts run inside it.

How the machine running the tests is kept safe, whatever runs in a host
(apt, dpkg, package scripts, the role's reboot):

- Every process of a host runs in PID, mount, UTS and IPC namespaces of its
  own (``unshare``). It sees and signals only the host's processes, and
  reboot(2) there ends the host's namespace, never the machine.
- Its root is the disk itself through ``pivot_root``, the machine's file
  system detached: no path inside leads out, ``chroot`` tricks included.
- Its processes lose, from the capability bounding set, CAP_SYS_BOOT (no
  reboot(2) at all), CAP_SYS_ADMIN (no mount, remount, umount or hostname
  change), CAP_MKNOD (no device node for the machine's disk), CAP_SYS_TIME,
  CAP_SYS_MODULE, CAP_SYS_RAWIO, CAP_NET_ADMIN (the network namespace is the
  machine's, so that the controller reaches sshd on loopback: nothing may
  reconfigure it) and the other administration capabilities (DROPPED_CAPS).
- Nothing of the machine is bind-mounted. /proc is a new procfs of the
  host's PID namespace, with /proc/sys, /proc/sysrq-trigger, /proc/irq and
  /proc/bus read-only (no sysctl, no SysRq; without CAP_SYS_ADMIN they
  cannot be made writable again); /proc/sys/kernel/random/boot_id is
  covered with a file of the host's current boot. /dev holds only the
  root's own null, zero, full, random, urandom and tty nodes (the cache
  build removes any other); /dev/pts is a new devpts instance; /run and
  /dev/shm are new tmpfs. /sys is not mounted.
- shutdown, reboot, poweroff, halt and systemctl are the script POWER:
  ``shutdown -r`` / ``reboot`` / ``systemctl reboot`` end the host's
  namespace after a second (a simulated reboot: the harness boots it again
  with a new boot id, unless the test says it stays down); poweroff and halt
  end it for good. policy-rc.d forbids package scripts to start services,
  which would listen on the machine's network.
- apt's only source is the tests' repository inside the host's disk.
"""

import os
import signal
import subprocess
import tempfile
import textwrap
import threading
import time

import debian_root
import sshd

PACKAGE = "vpsorg-e2e-app"
REPO_DIR = "/srv/vpsorg-e2e-repo"
HEALTH_FILE = "/var/lib/%s/health" % PACKAGE
VERSION_FILE = "/usr/share/%s/VERSION" % PACKAGE

# Exit codes of a host's PID 1 (INIT): why the host went down.
REBOOTED = 100
POWERED_OFF = 101

DROPPED_CAPS = ("sys_boot", "sys_admin", "mknod", "sys_time", "sys_module", "sys_rawio", "net_admin",
                "sys_pacct", "sys_tty_config", "syslog", "wake_alarm", "block_suspend", "audit_control",
                "audit_read", "mac_admin", "mac_override", "linux_immutable", "lease", "bpf", "perfmon",
                "checkpoint_restore")

# Runs as PID 1 of the host's new namespaces, on the machine's /bin/sh until pivot_root:
# sets up the mounts the module docstring lists, then runs "$@" inside the root.
BOOT = textwrap.dedent("""\
    set -eu
    root=$1 name=$2 caps=$3
    shift 3
    mount --bind "$root" "$root"
    cd "$root"
    mount -t proc -o nosuid,nodev,noexec proc proc
    for path in proc/sys proc/sysrq-trigger proc/irq proc/bus; do
        [ -e "$path" ] || continue
        mount --bind "$path" "$path"
        mount -o remount,bind,ro "$path"
    done
    mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs run
    cat proc/sys/kernel/random/uuid > run/boot_id
    mount --bind run/boot_id proc/sys/kernel/random/boot_id
    mount -o remount,bind,ro proc/sys/kernel/random/boot_id
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts dev/pts
    mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs dev/shm
    hostname "$name"
    pivot_root . .
    umount -l .
    cd /
    exec setpriv --bounding-set "$caps" -- "$@"
    """)

INIT_PATH = "/usr/local/sbin/vpsorg-e2e-init"
INIT = textwrap.dedent("""\
    #!/bin/sh
    # PID 1 of an end-to-end test host (tests/e2e/debian_host.py): sshd on the host's
    # port until the host reboots (SIGTERM, exit %d) or powers off (SIGUSR2, exit %d).
    trap 'exit %d' TERM
    trap 'exit %d' USR2
    mkdir -p -m 0755 /run/sshd
    /usr/sbin/sshd -D -e -p "$1" -o ListenAddress=127.0.0.1 >>/var/log/sshd.log 2>&1 &
    while :; do
        sleep 3600 & wait $!
    done
    """) % (REBOOTED, POWERED_OFF, REBOOTED, POWERED_OFF)

POWER_PATHS = ("/usr/sbin/shutdown", "/usr/sbin/reboot", "/usr/sbin/poweroff", "/usr/sbin/halt", "/usr/bin/systemctl")
POWER = textwrap.dedent("""\
    #!/bin/sh
    # On an end-to-end test host (tests/e2e/debian_host.py), shutdown, reboot, poweroff,
    # halt and systemctl end this host after a second instead of touching the machine:
    # SIGTERM to the host's PID 1 reboots it, SIGUSR2 powers it off.
    name=${0##*/}
    signal=USR2
    case $name in
        systemctl)
            case ${1-} in
                reboot) signal=TERM ;;
                poweroff|halt) ;;
                *) echo "System has not been booted with systemd as init system (PID 1). Can't operate." >&2
                   exit 1 ;;
            esac ;;
        reboot) signal=TERM ;;
        shutdown)
            for arg in "$@"; do
                case $arg in
                    -c) exit 0 ;;
                    --reboot|-r*|-[!-]*r*) signal=TERM ;;
                esac
            done ;;
    esac
    # Ignored, and so for the child too: the SIGHUP that the end of the caller's SSH
    # session (with a pty) sends may come before the child has left the session.
    trap '' HUP
    setsid sh -c "sleep 1; kill -$signal 1" </dev/null >/dev/null 2>&1 &
    echo "$name: going down in a second"
    """)

POLICY_RC_D = "#!/bin/sh\n# Test host: package scripts start no services (they would listen on the machine's network).\nexit 101\n"

SSHD_CONFIG = textwrap.dedent("""\
    # Test host: key login for root only, no PAM (no logind, no loginuid in a sandbox).
    HostKey /etc/ssh/ssh_host_ed25519_key
    PermitRootLogin prohibit-password
    PasswordAuthentication no
    UsePAM no
    """)


def _write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)
    os.chmod(path, mode)


def inside(root, path):
    return os.path.join(root, path.lstrip("/"))


def sandbox_command(root, name, command):
    """The machine's command that runs ``command`` as the PID 1 of a new sandbox on ``root``."""
    caps = ",".join("-" + cap for cap in DROPPED_CAPS)
    return ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child", "--uts", "--ipc",
            "/bin/sh", "-c", BOOT, "vpsorg-e2e-boot", os.path.abspath(root), name, caps] + list(command)


def run_inside(root, command, name="vpsorg-e2e", check=True):
    """Run ``command`` in a one-shot sandbox on ``root`` (the same as a host's); returns the CompletedProcess."""
    process = subprocess.run(sandbox_command(root, name, command), capture_output=True, text=True, timeout=300,
                             check=False)
    if check and process.returncode != 0:
        raise RuntimeError("%s in %s exited %d: %s%s" % (
            " ".join(command), root, process.returncode, process.stdout[-2000:], process.stderr[-2000:]))
    return process


# ------------------------------------------------------------------ the package and its repository

def build_package(folder, version, reboot=False, postinst_fails=False):
    """vpsorg-e2e-app VERSION as a .deb: one file with its version, a health file its postinst writes.

    ``reboot``: the postinst asks for a reboot as Debian packages do
    (/var/run/reboot-required). ``postinst_fails``: the postinst exits 1.
    """
    tree = os.path.join(folder, "%s_%s" % (PACKAGE, version))
    _write(os.path.join(tree, "DEBIAN", "control"), textwrap.dedent("""\
        Package: %s
        Version: %s
        Architecture: all
        Maintainer: vpsorg.cloud tests <tests@invalid>
        Section: misc
        Priority: optional
        Description: what the vpsorg.cloud end-to-end tests upgrade
        """) % (PACKAGE, version))
    _write(inside(tree, VERSION_FILE), "%s\n" % version)
    if postinst_fails:
        configure = 'echo "%s %s: postinst fails on purpose" >&2\n    exit 1' % (PACKAGE, version)
    else:
        configure = 'mkdir -p %s\n    echo "ok %s" > %s' % (os.path.dirname(HEALTH_FILE), version, HEALTH_FILE)
        if reboot:
            configure += "\n    touch /var/run/reboot-required\n    echo %s >> /var/run/reboot-required.pkgs" % PACKAGE
    _write(os.path.join(tree, "DEBIAN", "postinst"), textwrap.dedent("""\
        #!/bin/sh
        set -e
        if [ "$1" = configure ]; then
            %s
        fi
        """) % configure, mode=0o755)
    deb = os.path.join(folder, "%s_%s_all.deb" % (PACKAGE, version))
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", tree, deb], check=True,
                   stdout=subprocess.DEVNULL)
    return deb


def build_packages(folder):
    """{version: .deb}: 1 (installed in the root), 2 (good, wants a reboot), 3 (its postinst fails)."""
    os.makedirs(folder, exist_ok=True)
    return {"1": build_package(folder, "1"), "2": build_package(folder, "2", reboot=True),
            "3": build_package(folder, "3", postinst_fails=True)}


def publish_repository(root, debs):
    """A flat apt repository at REPO_DIR in ``root`` holding ``debs``, and the root's only apt source."""
    repo = inside(root, REPO_DIR)
    os.makedirs(repo, exist_ok=True)
    for deb in debs:
        subprocess.run(["cp", deb, repo], check=True)
    with open(os.path.join(repo, "Packages"), "w") as index:
        subprocess.run(["dpkg-scanpackages", "--multiversion", "."], cwd=repo, stdout=index,
                       stderr=subprocess.DEVNULL, check=True)
    _write(inside(root, "/etc/apt/sources.list"), "deb [trusted=yes] file:%s ./\n" % REPO_DIR)


# ------------------------------------------------------------------ the base every host copies

def prepare_base(base, packages):
    """Unpack the cached root into ``base``, add the test host's own files and install version 1."""
    debian_root.unpack(debian_root.ensure(), base)
    _write(inside(base, INIT_PATH), INIT, mode=0o755)
    for path in POWER_PATHS:
        if os.path.lexists(inside(base, path)):
            raise RuntimeError("%s exists in the root: the simulated reboot would not replace it" % path)
        _write(inside(base, path), POWER, mode=0o755)
    _write(inside(base, "/usr/sbin/policy-rc.d"), POLICY_RC_D, mode=0o755)
    _write(inside(base, "/etc/ssh/sshd_config.d/vpsorg-e2e.conf"), SSHD_CONFIG)
    publish_repository(base, [packages["1"]])
    run_inside(base, ["dpkg", "-i", "%s/%s" % (REPO_DIR, os.path.basename(packages["1"]))])
    return base


# ------------------------------------------------------------------ a host

class DebianHost:
    """One host: its disk (a copy of the base), its port, and the sandbox its sshd runs in.

    ``boot()`` starts it; a reboot from inside (POWER) ends the sandbox, and
    the host boots again by itself unless ``comes_back`` is false. The
    simulator calls ``power_off()`` when a restore starts and ``boot()`` when
    it is done (``SimState.attach_machine``).
    """

    def __init__(self, folder, base, name, client_key, offered=()):
        self.name = name
        self.folder = folder
        self.disk = os.path.join(folder, "disk")
        os.makedirs(folder, exist_ok=True)
        started = time.monotonic()
        debian_root.copy_tree(base, self.disk)
        self.copy_seconds = time.monotonic() - started
        self.port = sshd.free_port()
        self.comes_back = True
        self.boots = 0
        self.endings = []  # why each boot ended: REBOOTED, POWERED_OFF, "power_off" or another exit code
        self._process = None
        self._lock = threading.RLock()
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name,
                        "-f", inside(self.disk, "/etc/ssh/ssh_host_ed25519_key")], check=True)
        with open(client_key + ".pub") as source:
            _write(inside(self.disk, "/root/.ssh/authorized_keys"), source.read(), mode=0o600)
        os.chmod(inside(self.disk, "/root/.ssh"), 0o700)
        publish_repository(self.disk, offered)

    # -- power

    def boot(self):
        with self._lock:
            if self._process is not None:
                return
            with open(os.path.join(self.folder, "boot.log"), "a") as log:
                process = subprocess.Popen(sandbox_command(self.disk, self.name, [INIT_PATH, str(self.port)]),
                                           stdout=log, stderr=log, start_new_session=True)
            self._process = process
            self.boots += 1
            threading.Thread(target=self._watch, args=(process,), daemon=True).start()

    def _watch(self, process):
        # unshare ends after the host's PID 1, which the kernel lets go only once
        # every other process of its namespace is gone: the port is free again.
        code = process.wait()
        with self._lock:
            if process is not self._process:
                return  # powered off from outside
            self._process = None
            self.endings.append(code)
            if code == REBOOTED and self.comes_back:
                self.boot()

    def power_off(self):
        """Pull the plug: every process of the host is gone when this returns."""
        with self._lock:
            process, self._process = self._process, None
            if process is None:
                return
            # The host's PID 1 (unshare's child): the kernel kills the rest of the
            # namespace with it, and unshare ends once they are all gone (see _watch).
            # Before the fork there is no namespace yet, and unshare goes alone.
            process_ids = _children(process.pid) or [process.pid]
            for pid in process_ids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            process.wait(timeout=60)
            self.endings.append("power_off")

    def running(self):
        with self._lock:
            return self._process is not None

    def wait_until_listening(self, timeout=60):
        deadline = time.monotonic() + timeout
        while not sshd.port_open(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("%s's sshd did not listen on %d within %d s; see %s" % (
                    self.name, self.port, timeout, inside(self.disk, "/var/log/sshd.log")))
            time.sleep(0.1)
        return self

    # -- looking inside

    def run(self, command, check=True):
        """Run ``command`` in a one-shot sandbox on this host's disk (beside the running host)."""
        return run_inside(self.disk, command, name=self.name, check=check)

    def package_version(self):
        """What ``dpkg-query -W`` says inside the host: (version, status)."""
        out = self.run(["dpkg-query", "-W", "-f", "${Version} ${db:Status-Abbrev}", PACKAGE]).stdout
        version, status = out.split(" ", 1)
        return version, status.strip()

    def path(self, path):
        """Where the host's ``path`` is on the machine."""
        return inside(self.disk, path)

    def read(self, path):
        try:
            with open(self.path(path)) as handle:
                return handle.read()
        except OSError:
            return None

    def inventory_vars(self, client_key):
        return {
            "ansible_connection": "ssh",
            "ansible_host": "127.0.0.1",
            "ansible_port": self.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": client_key,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
            "ansible_python_interpreter": "/usr/bin/python3",
        }


def _children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
            return [int(child) for child in handle.read().split()]
    except OSError:
        return []


# A lab holds a dozen copies of the root (hosts, snapshots) at its peak, about 2 GB.
SCRATCH_ROOM = 4 * 1024 ** 3


def scratch_dir(prefix):
    """A new folder for hosts and their snapshots: $VPSORG_E2E_SCRATCH, else /dev/shm when it has room.

    Memory rather than disk: deleting a root copy from a disk mounted with
    ``discard`` took seconds each (a lab's teardown, 40 s and more), and
    copies are faster too.
    """
    parent = os.environ.get("VPSORG_E2E_SCRATCH")
    if not parent and _can_hold_hosts("/dev/shm"):
        parent = "/dev/shm"
    return tempfile.mkdtemp(prefix=prefix, dir=parent)


def _can_hold_hosts(mount_point):
    """Whether ``mount_point`` is a mount with the room, and without the options (noexec, nodev), a host needs."""
    with open("/proc/self/mountinfo") as handle:
        options = [line.split()[5].split(",") for line in handle if line.split()[4] == mount_point]
    if not options or {"noexec", "nodev"} & set(options[-1]):
        return False
    stats = os.statvfs(mount_point)
    return stats.f_bavail * stats.f_frsize >= SCRATCH_ROOM
