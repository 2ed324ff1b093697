# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""patch_with_rollback_report: the role's report, written on the controller as JSON and as a page.

The report is built from every host's records (plugins/plugin_utils/
patch_with_rollback.py) and written here, in the controller's process:
ansible.builtin.copy would start Python twice per file (stat, then copy)
for what is a local write. A file that cannot be written is said in the
result, never raised: whether a host ends failed depends on its own
record only (see the role's README).
"""

from __future__ import annotations

import json
import os
import re
import tempfile

from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.vpsorg.cloud.plugins.plugin_utils import patch_with_rollback as logic
from ansible_collections.vpsorg.cloud.plugins.plugin_utils import report_html


def page_beside(path):
    """The page's file beside the JSON report: a final ``.json`` becomes ``.html``, any other name gets ``.html``."""
    return re.sub(r"(\.json)?$", ".html", path, count=1)


def write_file(path, text):
    """Write ``text`` to ``path`` whole or not at all (a new file beside it, then a rename); None, or why not."""
    folder = os.path.dirname(path) or "."
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".%s." % os.path.basename(path))
    except OSError as error:
        return to_text(error)
    try:
        with os.fdopen(handle, "w") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return to_text(error)
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False
    _VALID_ARGS = frozenset(("hosts", "path", "page", "check_mode", "job_id"))

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        task_vars = task_vars or {}
        args = self._task.args
        if not args.get("path"):
            result.update(failed=True, msg="path is required: the report's JSON file on the controller.")
            return result
        path = os.path.realpath(os.path.expanduser(args["path"]))
        page = os.path.realpath(os.path.expanduser(args["page"])) if args.get("page") else page_beside(path)
        report = logic.build_report(logic.ReadOnce(task_vars.get("hostvars") or {}), list(args.get("hosts") or []), {},
                                    {"check_mode": bool(args.get("check_mode"))})
        # The report is the run's output, not a change to a host: a dry run writes it too.
        write_error = write_file(path, json.dumps(report, indent=4, sort_keys=True) + "\n")
        page_error = write_file(page, report_html.render(report))
        summary = logic.summary_lines(report, path, write_error)
        if not page_error:
            summary.append("Page: %s" % page)
        result.update(changed=False, report=report, path=path, page=page, write_error=write_error,
                      page_error=page_error, summary=summary, failed_hosts=logic.failed_hosts(report),
                      published={logic.published_key(args.get("job_id"), report["run_id"]):
                                 logic.published_report(report, args.get("job_id"))})
        return result
