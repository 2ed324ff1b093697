"""End-to-end tests: real ansible-playbook runs against the simulator over loopback."""

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "simulator"))

pytest_plugins = ["vpsorg_sim.testing"]

BIN = os.path.dirname(sys.executable)


def pytest_configure(config):
    config.addinivalue_line("markers", "debian: runs real Debian hosts (root, the cached root); a lane of its own")


def collections_path():
    """The ansible_collections folder that holds this checkout (scripts/test makes one)."""
    parts = ROOT.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "vpsorg"]:
        return os.sep.join(parts[:-3])
    return os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")


@pytest.fixture
def playbook(tmp_path):
    """run(yaml_text, env=None, args=()) -> CompletedProcess of ansible-playbook."""

    def run(text, env=None, args=(), inventory="localhost,"):
        path = tmp_path / "playbook.yml"
        path.write_text(textwrap.dedent(text))
        full_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1",
                        ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_LOCALHOST_WARNING="0")
        full_env.update(env or {})
        command = [os.path.join(BIN, "ansible-playbook"), "-i", inventory, str(path),
                   "-e", "ansible_python_interpreter=%s" % sys.executable] + list(args)
        return subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=600, check=False)

    return run
