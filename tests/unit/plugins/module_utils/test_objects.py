# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import given_server_id


@pytest.mark.parametrize("given, expected", [
    (12, 12), ("12", 12), (" 12 ", 12), ("0012", 12),
])
def test_a_server_id_as_an_inventory_gives_it(given, expected):
    assert given_server_id(given) == expected


@pytest.mark.parametrize("given", [None, "", "web", 0, "0", -3, "-3", True, False, 3.7, "3.7", [12], {"id": 12}])
def test_what_names_no_server_is_none_and_a_float_is_not_cut_down_to_an_id(given):
    assert given_server_id(given) is None
