"""The demo a person watches: the fleet patch with live progress and a closing table.

scripts/demo runs this. It runs the real playbook playbooks/patch_with_rollback.yml
over the demo fleet of demo/fleet.py (the one the end-to-end tests use) through
ansible-runner, prints one line per host and phase from the job events as they
arrive, and at the end checks every server itself: the disk's app.conf and the
health endpoint, not only what the role reports.
"""

import json
import os
import shutil
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import ansible_runner  # noqa: E402

from fleet import Fleet, read  # noqa: E402

PLAYBOOK = os.path.join(ROOT, "playbooks", "patch_with_rollback.yml")

# The role's task files (and the demo's patch) that make a phase a person can follow,
# by the name the progress lines give them. Files that only keep records (the host's
# ledger) are left out, as are files this demo does not know.
PHASES = {
    "preflight": "preflight",
    "quiesce": "quiesce",
    "snapshot": "snapshot",
    "thaw": "thaw",
    "patch": "patch",
    "patch_tasks": "patch",
    "patch_packages": "patch",
    "verify": "verify",
    "checks": "verify",
    "finish": "cleanup",
    "rollback": "rollback",
    "report": "report",
}

EXPECTED = {
    None: ("patched", "version=2"),
    "health": ("rolled_back", "version=1"),
    "network": ("rolled_back", "version=1"),
}
WHY = {
    "health": "the demo patch breaks its health endpoint",
    "network": "the demo patch cuts it off the network",
}


def phase_of(event_data):
    """The task file an event's task comes from, e.g. 'snapshot' for .../tasks/snapshot.yml:2."""
    path = (event_data.get("task_path") or "").rsplit(":", 1)[0]
    return os.path.splitext(os.path.basename(path))[0] or None


def first_line(text):
    return str(text or "").strip().splitlines()[0] if str(text or "").strip() else ""


class Progress:
    """Turns job events into one line per host and phase, with expected failures marked as such.

    A phase is announced by the first task of it that really ran on the host
    (skipped tasks do not count), with that task's own name.
    """

    def __init__(self, fleet, out=None):
        self.breaks = {name: breaks for name, _id, breaks in fleet.hosts}
        self.width = max(len(name) for name in self.breaks)
        self.phase = {}
        self.seen = {}
        self.started = time.monotonic()
        self.out = out or sys.stdout

    def line(self, host, phase, text):
        print("%6.1fs  %-*s  %-9s %s" % (time.monotonic() - self.started, self.width, host, phase, text),
              file=self.out, flush=True)

    def __call__(self, event):
        kind = event.get("event")
        data = event.get("event_data", {})
        host = data.get("host")
        if kind == "playbook_on_start":
            print("%6.1fs  the playbook starts" % (time.monotonic() - self.started), file=self.out, flush=True)
        elif host in self.breaks and kind in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
            self.ran(host, data)
            if kind != "runner_on_ok" and not data.get("ignore_errors"):
                self.failed(host, data, kind)
        return True  # keep the event in runner's artifacts

    def ran(self, host, data):
        phase = PHASES.get(phase_of(data))
        if phase is None and host not in self.seen:
            phase = "start"  # the host's first task, whatever file it is in: the host is under way
        if phase is None or phase == self.phase.get(host):
            return
        self.phase[host] = phase
        if phase not in self.seen.setdefault(host, []):
            self.seen[host].append(phase)
            self.line(host, phase, data.get("task") or "")

    def failed(self, host, data, kind):
        message = first_line(data.get("res", {}).get("msg")) or kind
        breaks = self.breaks[host]
        if breaks:
            note = "as expected (%s): %s" % (WHY[breaks], message)
        else:
            note = "UNEXPECTED failure: %s" % message
        self.line(host, self.phase.get(host, ""), note)


def run_playbook(fleet, root, progress):
    """The playbook through ansible-runner, as AWX runs it: credentials only in the environment."""
    report = os.path.join(root, "report.json")
    # The same variables as Fleet.run, so the demo and the end-to-end tests run the same job.
    variables = {
        "patch_with_rollback_patch_tasks": os.path.join(HERE, "patch_tasks.yml"),
        "patch_with_rollback_verify_timeout": 3,
        "patch_with_rollback_report_path": report,
    }
    envvars = dict(fleet.env(), ANSIBLE_NOCOLOR="1", ANSIBLE_LOCALHOST_WARNING="0")
    for name in ("ANSIBLE_COLLECTIONS_PATH",):
        if name in os.environ:
            envvars[name] = os.environ[name]
    # runner finds ansible-playbook on PATH: this interpreter's.
    os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")
    private = os.path.join(root, "runner")
    os.makedirs(private, mode=0o700)
    result = ansible_runner.run(
        private_data_dir=private, playbook=PLAYBOOK, inventory=fleet.inventory(),
        extravars=variables, envvars=envvars, suppress_env_files=True, quiet=True, event_handler=progress)
    return result, fleet_report(report)


def fleet_report(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return json.load(handle)


def check_hosts(fleet, report):
    """Per host: what the role reports next to what the server's disk and health endpoint say."""
    rows = []
    for name, server_id, breaks in fleet.hosts:
        entry = report["hosts"].get(name, {}) if report else {}
        status, conf_expected = EXPECTED[breaks]
        conf = (read(os.path.join(fleet.disk(name), "app.conf")) or "").strip()
        health = fleet.sim.state.health(server_id)[0]
        good = entry.get("status") == status and conf == conf_expected and health == 200
        rows.append({
            "host": name,
            "expected": status,
            "status": entry.get("status", "(no report)"),
            "snapshot": str(entry.get("snapshot_id", "-")),
            "app.conf": conf or "(missing)",
            "health": str(health),
            "seconds": "%.0f" % entry["durations"]["total"] if entry.get("durations", {}).get("total") else "-",
            "check": "ok" if good else "WRONG",
            "message": entry.get("message", ""),
        })
    return rows


def print_table(rows, out=None):
    """The closing table; the message column wraps instead of being cut."""
    out = out or sys.stdout
    columns = ["host", "expected", "status", "snapshot", "app.conf", "health", "seconds", "check"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    fixed = sum(widths.values()) + 2 * len(columns)
    message_width = max(40, shutil.get_terminal_size((120, 24)).columns - fixed - 1)
    print("  ".join(c.ljust(widths[c]) for c in columns) + "  message", file=out)
    print("  ".join("-" * widths[c] for c in columns) + "  " + "-" * 7, file=out)
    for row in rows:
        wrapped = textwrap.wrap(row["message"], message_width, break_on_hyphens=False, break_long_words=False) or [""]
        print("  ".join(row[c].ljust(widths[c]) for c in columns) + "  " + wrapped[0], file=out)
        for more in wrapped[1:]:
            print(" " * fixed + more, file=out)


def print_tail(result, lines=60):
    """ansible-playbook's own output, for when the run went wrong."""
    text = result.stdout.read().splitlines()
    print("\nThe last %d lines of ansible-playbook's output:" % min(lines, len(text)))
    print("\n".join(text[-lines:]))


def main(durations=None):
    return run_demo(durations)[0]


def run_demo(durations=None):
    """Print the demo; return (exit code, the closing table's rows)."""
    with tempfile.TemporaryDirectory(prefix="vpsorg-demo-") as root:
        fleet = Fleet(root, durations=durations)
        try:
            print("The role patch_with_rollback over four simulated servers, through ansible-runner.")
            print("Simulator: %s; each server's disk is a folder under %s." % (fleet.sim.api_url, fleet.disk("")))
            plan = ["%s %s" % (name, "is patched" if not breaks else "is rolled back: " + WHY[breaks])
                    for name, _id, breaks in fleet.hosts]
            print("Expected: " + "; ".join(plan) + ".\n", flush=True)
            progress = Progress(fleet)
            result, report = run_playbook(fleet, root, progress)
            print("\nThe playbook ended %s (exit code %s)%s." % (
                result.status, result.rc,
                ": the rolled-back hosts end failed, so a job template shows them" if result.rc == 2 else ""))
            if report is None:
                print("No report was written: the run failed before its end.")
                print_tail(result)
                return 1, []
            rows = check_hosts(fleet, report)
            print("\nPer-host result (run %s), checked against each server's disk and health endpoint:\n"
                  % report.get("run_id"))
            print_table(rows)
            wrong = [r["host"] for r in rows if r["check"] != "ok"]
            if wrong:
                print("\nNOT as expected: %s" % ", ".join(wrong))
                print_tail(result)
                return 1, rows
            print("\nAll hosts ended as expected.")
            return 0, rows
        finally:
            fleet.stop()


if __name__ == "__main__":
    sys.exit(main())
