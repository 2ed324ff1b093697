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
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import ansible_runner  # noqa: E402

from fleet import Fleet, read  # noqa: E402

PLAYBOOK = os.path.join(ROOT, "playbooks", "patch_with_rollback.yml")

# What a person reads for each of the role's task files (and the demo's patch):
# the phase, and the words for what a host is doing in it. Files that only keep
# records (the host's ledger) are left out, as are files this demo does not know.
PHASES = {
    "preflight": ("preflight", "checking the host, its server and the room for a snapshot"),
    "quiesce_services": ("quiesce", "quiescing the host for its snapshot"),
    "thaw": ("thaw", "thawing the host after its snapshot"),
    "patch": ("patch", "patching"),
    "patch_tasks": ("patch", "patching"),
    "patch_packages": ("patch", "patching"),
    "verify": ("verify", "verifying through a fresh connection"),
    "checks": ("verify", "checking its health endpoint"),
    "rollback": ("rollback", "rolling back to its snapshot"),
    "report": ("report", "ending failed, as it was not patched"),
}
# Tasks the role runs once for the whole wave, and what they do.
WAVE_TASKS = {
    "List the snapshots of the wave's servers": "listing the snapshots of the wave's servers (one API task)",
    "Take the wave's snapshots": "taking every snapshot of the wave (one API task, polled together)",
    "Clean up the snapshots of the verified hosts": "deleting the snapshots of the hosts patched and verified",
    "Write the run's report and its page on the controller": "writing the report",
}
# Tasks that only keep the role's records or print: no phase of a host.
QUIET_ACTIONS = ("set_fact", "debug", "set_stats", "include_tasks", "meta")
HEARTBEAT = 10.0

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


def short_task(name):
    """A task's own name, without the role's prefix."""
    return str(name or "").split(" : ", 1)[-1]


class Progress:
    """Turns job events into plain lines: each wave as it starts and why, each host's phases, and the wave's
    own API work; while nothing new happens, a line every HEARTBEAT seconds says what is being waited for."""

    def __init__(self, fleet, out=None, first_wave=1):
        self.breaks = {name: breaks for name, _id, breaks in fleet.hosts}
        self.width = max(len(name) for name in self.breaks)
        self.waves = 1 + (1 if len(self.breaks) > first_wave else 0)
        self.phase = {}
        self.started = time.monotonic()
        self.last_line = self.started
        self.waiting = "the playbook to start"
        self.waiting_since = self.started
        self.out = out or sys.stdout
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.beat = threading.Thread(target=self.heartbeat, daemon=True)

    def start(self):
        self.beat.start()
        return self

    def stop(self):
        self.done.set()
        self.beat.join(timeout=5)

    def heartbeat(self):
        while not self.done.wait(1.0):
            with self.lock:
                now = time.monotonic()
                if now - self.last_line >= HEARTBEAT:
                    self.say("          ... still %s (%.0f s so far)" % (self.waiting, now - self.waiting_since))

    def say(self, text):
        print("%6.1fs  %s" % (time.monotonic() - self.started, text), file=self.out, flush=True)
        self.last_line = time.monotonic()

    def line(self, host, phase, text):
        self.say("%-*s  %-9s %s" % (self.width, host, phase, text))

    def wait_for(self, what):
        self.waiting, self.waiting_since = what, time.monotonic()

    def __call__(self, event):
        with self.lock:
            self.handle(event)
        return True  # keep the event in runner's artifacts

    def handle(self, event):
        kind = event.get("event")
        data = event.get("event_data", {})
        host = data.get("host")
        task = short_task(data.get("task"))
        if kind == "playbook_on_start":
            self.say("the playbook starts")
            self.wait_for("the first wave to start")
        elif kind == "playbook_on_task_start" and task in WAVE_TASKS:
            self.say("wave     %s" % WAVE_TASKS[task])
            self.wait_for(WAVE_TASKS[task])
        elif kind == "runner_on_ok" and task == "Start the wave":
            self.announce_wave(data.get("res", {}).get("ansible_facts", {}).get("__patch_with_rollback_wave") or {})
        elif task in WAVE_TASKS:
            return
        elif host in self.breaks and kind in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
            self.ran(host, data)
            if kind != "runner_on_ok" and not data.get("ignore_errors"):
                self.failed(host, data, kind)

    def announce_wave(self, wave):
        hosts = sorted(h for h, entry in (wave.get("hosts") or {}).items() if entry.get("starts"))
        number = wave.get("number", "?")
        if number == 1 and len(hosts) == 1 and self.waves > 1:
            why = "%s alone, as the canary: the others start only if it ends patched" % hosts[0]
        elif number == 1:
            why = ", ".join(hosts)
        else:
            why = "%s, since the wave before ended well enough" % ", ".join(hosts) if hosts else \
                "nobody: %s" % (wave.get("stop") or "the run stopped")
        self.say("wave %s of %d starts: %s" % (number, self.waves, why))
        self.wait_for("wave %s" % number)

    def ran(self, host, data):
        known = PHASES.get(phase_of(data))
        if known is None or str(data.get("task_action", "")).rsplit(".", 1)[-1] in QUIET_ACTIONS:
            return
        phase, words = known
        if phase == self.phase.get(host):
            return
        self.phase[host] = phase
        self.line(host, phase, words + "...")
        self.wait_for("%s: %s" % (host, words))

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
    # Kept after the demo, so that its page can be opened: scripts/demo points this at the clone's demo-output/.
    output = os.environ.get("VPSORG_DEMO_OUTPUT") or os.path.join(os.getcwd(), "demo-output")
    os.makedirs(output, exist_ok=True)
    report = os.path.join(output, "patch_with_rollback-report.json")
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
        report = json.load(handle)
    report["_path"] = path
    return report


def report_path(report):
    return report.get("_path", "")


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
    """The closing table, one short line per host; each host's message follows below it, wrapped to the terminal."""
    out = out or sys.stdout
    columns = ["host", "expected", "status", "snapshot", "app.conf", "health", "seconds", "check"]
    widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns).rstrip(), file=out)
    print("  ".join("-" * widths[c] for c in columns), file=out)
    for row in rows:
        print("  ".join(row[c].ljust(widths[c]) for c in columns).rstrip(), file=out)
    width = max(40, shutil.get_terminal_size((100, 24)).columns - 4)
    print("\nWhat the role said of each host:", file=out)
    for row in rows:
        lines = textwrap.wrap("%s: %s" % (row["host"], row["message"]), width, break_on_hyphens=False,
                              break_long_words=False, subsequent_indent="    ")
        print("\n".join("  " + line for line in lines), file=out)


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
            progress = Progress(fleet).start()
            try:
                result, report = run_playbook(fleet, root, progress)
            finally:
                progress.stop()
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
            page = os.path.join(os.path.dirname(report_path(report)), "patch_with_rollback-report.html")
            if os.path.exists(page):
                print("The run's report as a page (timeline per host, statuses, next steps): %s" % page)
            return 0, rows
        finally:
            fleet.stop()


if __name__ == "__main__":
    sys.exit(main())
