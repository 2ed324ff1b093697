# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # What every step of the role patch_with_rollback that runs as an action is handed first (plugins/action/).
    DOCUMENTATION = r"""
options:
  wave:
    description:
      - The wave, from P(vpsorg.cloud.patch_wave#filter).
    type: dict
    required: true
notes:
  - An action plugin only; it runs on the controller. The role's README, "How a host moves through a wave", shows
    where the role runs it and what it hands over.
author:
  - vpsorg.cloud maintainers (@vpsorg)
"""
