# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: merge_reports
short_description: Merge the reports of several patch_with_rollback jobs into one fleet summary
version_added: 2.0.0
description:
  - Takes the JSON reports that the role C(vpsorg.cloud.patch_with_rollback) wrote in several jobs over
    parts of one fleet (the slices of a sliced AWX job, a canary job and the job over the rest) and gives
    one summary of the whole fleet.
  - Only the report's documented fields are read (C(run_id), C(dry_run), C(generated_at), C(hosts) and each
    host's C(status)); anything else in a report is kept as it is.
  - A host found in more than one report is listed under RV(_value.duplicates) (two jobs ran over it); its entry
    is taken from the report generated last.
  - Fails when a report has no C(hosts), or when dry runs and real runs are mixed.
author:
  - vpsorg.cloud maintainers (@vpsorg)
options:
  _input:
    description: The reports, each the parsed JSON of one report file.
    type: list
    elements: dict
    required: true
  sources:
    description:
      - Where each report came from (a file name or a job), in the order of the reports.
      - Default C(report 1), C(report 2), ...
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Read the reports of the slices
  ansible.builtin.slurp:
    src: "{{ item }}"
  loop: "{{ report_files }}"
  register: slurped

- name: Merge them
  ansible.builtin.set_fact:
    fleet: >-
      {{ slurped.results | map(attribute='content') | map('b64decode') | map('from_json') | list
         | vpsorg.cloud.merge_reports(sources=slurped.results | map(attribute='item') | list) }}
"""

RETURN = r"""
_value:
  description: The fleet summary.
  type: dict
  contains:
    hosts:
      description: Every host of every report, by name, with the report's entry and C(source), the report it came from.
      type: dict
    total_hosts:
      description: How many hosts the reports name.
      type: int
    statuses:
      description: How many hosts ended in each status.
      type: dict
      sample: {patched: 20, rolled_back: 3, unresolved: 1}
    needs_attention:
      description:
        - The hosts that did not end C(patched), C(snapshot_only) or C(would_patch), sorted.
        - Their entries in RV(_value.hosts) say what happened and the next step (C(message), C(manual_step)).
      type: list
      elements: str
    duplicates:
      description: Hosts named by more than one report, with the sources that name them. Empty when the jobs did not overlap.
      type: dict
      sample: {web-03: [slice 1, slice 2]}
    run_ids:
      description: The distinct run ids of the reports, sorted (one per job unless the jobs were given one run id).
      type: list
      elements: str
    dry_run:
      description: Whether the reports are of dry runs.
      type: bool
    reports:
      description: One entry per report, in the order given, with C(source), C(run_id), C(generated_at), C(dry_run),
        C(hosts) (how many) and C(statuses).
      type: list
      elements: dict
"""

import datetime

from ansible.errors import AnsibleFilterError

from ansible_collections.vpsorg.cloud.plugins.plugin_utils.statuses import settled


def merge_reports(reports, sources=None):
    """One summary of several reports of the role; see DOCUMENTATION."""
    if not isinstance(reports, (list, tuple)):
        raise AnsibleFilterError("merge_reports expects a list of reports, got %s" % type(reports).__name__)
    sources = list(sources or [])
    if len(sources) not in (0, len(reports)):
        raise AnsibleFilterError("merge_reports: %d sources given for %d reports; give one per report, or none"
                                 % (len(sources), len(reports)))
    names = [str(s) for s in sources] or ["report %d" % (index + 1) for index in range(len(reports))]
    summaries = [_summary(report, name) for report, name in zip(reports, names)]
    dry_runs = set(s["dry_run"] for s in summaries)
    if len(dry_runs) > 1:
        raise AnsibleFilterError(
            "merge_reports: %s are dry runs and %s are not; merge the reports of one kind of run only"
            % (", ".join(s["source"] for s in summaries if s["dry_run"]),
               ", ".join(s["source"] for s in summaries if not s["dry_run"])))
    hosts, seen_in = _merge_hosts(reports, summaries)
    statuses = {}
    for entry in hosts.values():
        statuses[entry.get("status")] = statuses.get(entry.get("status"), 0) + 1
    return {
        "hosts": dict(sorted(hosts.items())),
        "total_hosts": len(hosts),
        "statuses": dict(sorted(statuses.items(), key=lambda item: str(item[0]))),
        "needs_attention": sorted(name for name, entry in hosts.items() if not settled(entry.get("status"))),
        "duplicates": dict(sorted((name, where) for name, where in seen_in.items() if len(where) > 1)),
        "run_ids": sorted(set(str(s["run_id"]) for s in summaries if s["run_id"] is not None)),
        "dry_run": dry_runs.pop() if dry_runs else False,
        "reports": summaries,
    }


def _summary(report, source):
    if not isinstance(report, dict) or not isinstance(report.get("hosts"), dict):
        raise AnsibleFilterError("merge_reports: %s is not a report of vpsorg.cloud.patch_with_rollback "
                                 "(it has no 'hosts' mapping)" % source)
    statuses = {}
    for entry in report["hosts"].values():
        status = entry.get("status") if isinstance(entry, dict) else None
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "source": source,
        "run_id": report.get("run_id"),
        "generated_at": report.get("generated_at"),
        "dry_run": bool(report.get("dry_run", False)),
        "hosts": len(report["hosts"]),
        "statuses": statuses,
    }


def _merge_hosts(reports, summaries):
    """Every host once; a host in several reports takes the entry of the report generated last."""
    hosts, stamps, seen_in = {}, {}, {}
    for report, summary in zip(reports, summaries):
        stamp = _epoch(summary["generated_at"])
        for name, entry in report["hosts"].items():
            seen_in.setdefault(name, []).append(summary["source"])
            if name not in hosts or stamp >= stamps[name]:
                hosts[name] = dict(entry if isinstance(entry, dict) else {"status": None}, source=summary["source"])
                stamps[name] = stamp
    return hosts, seen_in


def _epoch(text):
    """Seconds since the epoch of an ISO 8601 time; a report without a readable one counts as the oldest."""
    try:
        moment = datetime.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        return float("-inf")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


class FilterModule:
    def filters(self):
        return {"merge_reports": merge_reports}
