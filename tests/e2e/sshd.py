"""Real SSH for the end-to-end tests: one sshd per host on a loopback port, as a host would run it.

Each ``Sshd`` has its own host key, config, pid file and log in its own folder,
and accepts only the client key made by ``client_key``. Root logs in with that
key (``UsePAM no``: no PAM stack is needed). ``stop_listener`` does what
``systemctl stop ssh`` does on Debian (KillMode=process): the listener dies and
open sessions survive, so an Ansible ControlPersist master stays usable;
``power_off`` kills every process of that sshd, sessions included, as a host
that goes down does.
"""

import os
import signal
import socket
import subprocess
import tempfile
import time

SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = "/run/sshd"


def available():
    return os.access(SSHD, os.X_OK)


def missing_reason():
    return ("%s is missing: the SSH tests need openssh-server, which scripts/test installs "
            "(or: apt-get install openssh-server)" % SSHD)


def client_key(folder):
    """A passwordless ed25519 key pair for the controller; returns the private key's path."""
    path = os.path.join(folder, "id_ed25519")
    if not os.path.exists(path):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "vpsorg-e2e", "-f", path], check=True)
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def sockets_on_port(port):
    """Pids of the processes holding a TCP socket whose local port is ``port``."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as handle:
                rows = handle.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add("socket:[%s]" % fields[9])
    pids = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            links = [os.readlink("/proc/%s/fd/%s" % (entry, fd)) for fd in os.listdir("/proc/%s/fd" % entry)]
        except OSError:
            continue
        if inodes.intersection(links):
            pids.add(int(entry))
    return pids


def control_path_dir():
    """A short folder for Ansible's ControlPersist sockets (a socket path has at most 107 bytes)."""
    return tempfile.mkdtemp(prefix="cp-", dir="/tmp")


class Sshd:
    def __init__(self, folder, authorized_key):
        self.folder = folder
        os.makedirs(folder, exist_ok=True)
        self.port = free_port()
        self.process = None
        self.host_key = os.path.join(folder, "ssh_host_ed25519_key")
        self.pid_file = os.path.join(folder, "sshd.pid")
        self.log_file = os.path.join(folder, "sshd.log")
        self.config = os.path.join(folder, "sshd_config")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.host_key], check=True)
        with open(authorized_key + ".pub") as source, open(os.path.join(folder, "authorized_keys"), "w") as target:
            target.write(source.read())
        with open(self.config, "w") as handle:
            handle.write("\n".join([
                "Port %d" % self.port,
                "ListenAddress 127.0.0.1",
                "HostKey %s" % self.host_key,
                "PidFile %s" % self.pid_file,
                "AuthorizedKeysFile %s" % os.path.join(folder, "authorized_keys"),
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                # The folder lives under a world-readable temporary directory.
                "StrictModes no",
                "Subsystem sftp internal-sftp",
                "LogLevel VERBOSE",
                "",
            ]))

    def start(self, timeout=30):
        """Start the listener and wait until it accepts connections."""
        os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        with open(self.log_file, "a") as log:
            # -D: stay in the foreground so this object owns the process; its own
            # session, so power_off can kill it together with every session it forked.
            self.process = subprocess.Popen([SSHD, "-D", "-e", "-f", self.config], stdout=log, stderr=log,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.process.poll() is not None:
                raise RuntimeError("sshd exited with %s; see %s" % (self.process.returncode, self.log_file))
            if time.monotonic() > deadline:
                raise RuntimeError("sshd did not listen on port %d within %d s" % (self.port, timeout))
            time.sleep(0.05)
        return self

    def listener_running(self):
        return self.process is not None and self.process.poll() is None

    def stop_listener(self):
        if self.listener_running():
            self.process.terminate()
            self.process.wait(timeout=10)

    def power_off(self):
        """Kill the listener and every session it forked, as a host that goes down does."""
        if self.process is None:
            return
        # Sessions call setsid() and outlive a stopped listener: find them by their sockets.
        for pid in sockets_on_port(self.port) | {self.process.pid}:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(timeout=10)

    def inventory_vars(self, key):
        return {
            "ansible_connection": "ssh",
            "ansible_host": "127.0.0.1",
            "ansible_port": self.port,
            "ansible_user": "root",
            "ansible_ssh_private_key_file": key,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
        }
