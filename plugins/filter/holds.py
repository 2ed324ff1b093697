# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The filter of the playbook vpsorg.cloud.prune_holds: a thin door to ``plugins/plugin_utils/holds.py``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import holds


def _result(registered):
    # Never copy a registered result (see the role's filters, result_of): a copy reads deprecated keys.
    return registered if isinstance(registered, Mapping) else {}


def expired_holds(listing, prefix, servers, probes):
    return holds.expired_holds(list(_result(listing).get("snapshots") or []), str(prefix), dict(servers),
                               dict((host, _result(probe)) for host, probe in dict(probes).items()))


class FilterModule:
    def filters(self):
        return {"expired_holds": expired_holds}
