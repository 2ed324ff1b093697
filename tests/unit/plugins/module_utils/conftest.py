"""The engine tests' fixture: a fresh in-memory API for each test."""

from __future__ import annotations

import pytest

from ansible_collections.vpsorg.cloud.tests.unit.plugins.module_utils.fake_api import FakeApi


@pytest.fixture
def api():
    return FakeApi()
