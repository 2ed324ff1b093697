"""Tests of the AWX material: docs/awx/ (with awx.awx, taken for the tests only) and the execution environment."""

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from awx_templates import ROOT  # noqa: E402

BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="session")
def awx_collections():
    """A collections path holding awx.awx (scripts/awx-collection fetches it once)."""
    path = subprocess.run([os.path.join(ROOT, "scripts", "awx-collection")], capture_output=True, text=True,
                          check=True, env=dict(os.environ, PYTHON=sys.executable)).stdout.strip()
    assert os.path.isfile(os.path.join(path, "ansible_collections", "awx", "awx", "MANIFEST.json"))
    return path


def this_collection_path():
    """The ansible_collections folder that holds this checkout, if it is in one (scripts/test makes one)."""
    parts = ROOT.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "vpsorg"]:
        return os.sep.join(parts[:-3])
    return os.environ.get("ANSIBLE_COLLECTIONS_PATH", "")


def ansible(tool, *args, collections="", **kwargs):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0")
    return subprocess.run([os.path.join(BIN, tool)] + list(args), env=env, capture_output=True, text=True,
                          timeout=300, check=False, **kwargs)
