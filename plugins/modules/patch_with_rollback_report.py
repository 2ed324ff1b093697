#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: patch_with_rollback_report
short_description: Write the report of the role patch_with_rollback on the controller
version_added: 2.0.0
description:
  - Used by the role R(vpsorg.cloud.patch_with_rollback,ansible_collections.vpsorg.cloud.patch_with_rollback_role) at the end
    of a run; its README describes the report's fields.
  - Builds the report from the records every host of O(hosts) holds (C(patch_with_rollback_records)), writes it as JSON
    to O(path) and as a page to O(page), each whole or not at all, mode C(0644).
  - A file that cannot be written is named in C(write_error) or C(page_error); the task itself does not fail.
  - An action plugin only; it runs on the controller. It writes in check mode too, since the report is the run's output.
author:
  - vpsorg.cloud maintainers (@vpsorg)
options:
  hosts:
    description: Every host of the play, the ones of waves that never started included.
    type: list
    elements: str
    required: true
  path:
    description: The report's JSON file on the controller.
    type: path
    required: true
  page:
    description: The page's file on the controller; by default beside O(path), its final C(.json) replaced by C(.html)
      (any other name gets C(.html) added).
    type: path
  check_mode:
    description: Whether the run was a dry run, as the report says.
    type: bool
    default: false
  job_id:
    description:
      - The AWX / Automation Controller job's id, which names the report published in RV(published); without it the
        run id does.
    type: str
    version_added: 2.1.0
"""

EXAMPLES = r"""
- name: Write the run's report and its page
  vpsorg.cloud.patch_with_rollback_report:
    hosts: "{{ ansible_play_hosts_all }}"
    path: /var/tmp/patch-report.json
    check_mode: "{{ ansible_check_mode }}"
  run_once: true
  register: report
"""

RETURN = r"""
report:
  description: The report, as written to O(path).
  returned: always
  type: dict
path:
  description: The JSON file's absolute path.
  returned: always
  type: str
page:
  description: The page's absolute path.
  returned: always
  type: str
write_error:
  description: Why the JSON file could not be written; null when it was.
  returned: always
  type: str
page_error:
  description: Why the page could not be written; null when it was.
  returned: always
  type: str
summary:
  description: The run's summary, a line each (a headline, then each host with its message and next step).
  returned: always
  type: list
  elements: str
failed_hosts:
  description:
    - The hosts whose status ends them failed (every status but C(patched), C(snapshot_only) and C(would_patch)); the
      role ends these failed. Empty in a dry run, which ends no host failed.
  returned: always
  type: list
  elements: str
  version_added: 2.1.0
published:
  description:
    - The report as the role publishes it for the later jobs of an AWX workflow (set_stats), under a key of this job's
      own, C(patch_with_rollback_report_<job id>) (else C(_<run id>)), so that AWX's key-by-key merge of several jobs'
      artifacts keeps every job's.
    - Compact, about 200 bytes per host - C(run_id), C(dry_run), C(generated_at), C(job_id), and C(hosts), each with
      C(status), C(cause), C(snapshot_id), C(wave), C(started_at), C(seconds) and, when there is one, C(manual_step).
  returned: always
  type: dict
  sample: {patch_with_rollback_report_5010: {run_id: CHG-42, dry_run: false, generated_at: "2026-12-06T10:00:00Z",
           job_id: "5010", hosts: {web-01: {status: patched, cause: null, snapshot_id: 901, wave: 1,
           started_at: 1796554000.1, seconds: 31.2}}}}
  version_added: 2.1.0
"""
