"""The version the client announces is the collection's own, as galaxy.yml gives it."""

from __future__ import annotations

import os

import yaml

from ansible_collections.vpsorg.cloud.plugins.module_utils.client import COLLECTION_VERSION, USER_AGENT

COLLECTION_ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")


def galaxy_version():
    with open(os.path.join(COLLECTION_ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["version"]


def test_client_version_is_galaxy_version():
    # A release bumps galaxy.yml; the User-Agent must follow, or the API's
    # logs name a version that was never shipped.
    assert COLLECTION_VERSION == galaxy_version(), (
        "plugins/module_utils/client.py says COLLECTION_VERSION = %r, galaxy.yml says version: %r: "
        "set both to the version being released" % (COLLECTION_VERSION, galaxy_version()))


def test_user_agent_names_the_version():
    assert USER_AGENT == "ansible-vpsorg.cloud/%s" % galaxy_version()
