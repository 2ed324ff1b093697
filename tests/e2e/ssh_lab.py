"""Helpers for the tests of the role over real SSH: the sshds of a test, and a host that reboots on a restore."""

import os
import shutil
import threading

import pytest

import sshd
from conftest import collections_path


def ssh_env(control_dir):
    env = {"ANSIBLE_SSH_CONTROL_PATH_DIR": control_dir, "ANSIBLE_HOST_KEY_CHECKING": "False",
           "ANSIBLE_COLLECTIONS_PATH": collections_path()}
    # The point of these tests is Ansible's default ssh_args (ControlMaster=auto, ControlPersist=60s).
    assert "ANSIBLE_SSH_ARGS" not in os.environ, "ANSIBLE_SSH_ARGS would change the connection reuse under test"
    return env


class SshLab:
    """The sshds of one test (or module), their client key and the ControlPersist sockets' folder."""

    def __init__(self, folder):
        if not sshd.available():
            pytest.fail(sshd.missing_reason())
        self.folder = folder
        self.key = sshd.client_key(folder)
        self.control_dir = sshd.control_path_dir()
        self.daemons = {}

    def add(self, name, start=True):
        daemon = sshd.Sshd(os.path.join(self.folder, "sshd", name), self.key)
        self.daemons[name] = daemon
        return daemon.start() if start else daemon

    def close(self):
        for daemon in self.daemons.values():
            daemon.power_off()
        shutil.rmtree(self.control_dir, ignore_errors=True)


class RebootOnRestore(threading.Thread):
    """What a restore does to a real host: it goes down when the restore starts and boots once it is running.

    The restore request is seen in the simulator's request log, which never
    misses one; the host's sshd starts again only after that request and once
    the server is running, so the role can only find it up by waiting for it.
    """

    def __init__(self, sim, server_id, daemon):
        super().__init__(daemon=True)
        self.sim, self.server_id, self.sshd = sim, server_id, daemon
        self.stopped = threading.Event()
        self.boots = 0
        self.ours = set()

    def restores(self):
        # Every snapshot ever seen on the server: one deleted after its restore (an undo) still counts as its own.
        self.ours |= {s["id"] for s in self.sim.state.list_snapshots(self.server_id)}
        return [e for e in self.sim.log.entries()
                if e["method"] == "POST" and e["path"].endswith("/restore/") and e["status"] < 300
                and int(e["path"].rstrip("/").split("/")[-2]) in self.ours]

    def run(self):
        seen = 0
        while not self.stopped.wait(0.05):
            if len(self.restores()) == seen:
                continue
            seen = len(self.restores())
            self.sshd.power_off()
            while not self.stopped.wait(0.05):
                if self.sim.state.server_view(self.server_id)["status"] == "running":
                    self.sshd.start()
                    self.boots += 1
                    break

    def stop(self):
        self.stopped.set()
        self.join(timeout=30)
