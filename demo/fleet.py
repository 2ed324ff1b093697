"""The demo fleet: simulated servers with real disks, an inventory, and a patch run.

Used by scripts/demo (``python demo/fleet.py``) and by the end-to-end tests.
Each host is a local connection whose "server" is a simulator server whose
disk is a temporary folder. The demo patch (demo/patch_tasks.yml) upgrades
app.conf; on chosen hosts it also breaks the health endpoint or cuts the
network (the simulated service port closes), so the role must roll back.
"""

import json
import os
import secrets
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "simulator"))

from vpsorg_sim import SimServer  # noqa: E402  (the simulator is not installed)

# name, server id, what the demo patch breaks on it
DEMO_FLEET = (
    ("web-01", 101, None),
    ("web-02", 102, "health"),
    ("db-01", 103, None),
    ("cache-01", 104, "network"),
)


class Fleet:
    """A running simulator with one server (and disk) per host."""

    def __init__(self, root, hosts=DEMO_FLEET, durations=None):
        self.root = root
        self.hosts = hosts
        self.sim = SimServer(token="demo-%s" % secrets.token_hex(8), storage_dir=os.path.join(root, "sim-storage"))
        self.sim.state.configure(durations=durations or {"snapshot": 1.0, "backup": 1.0, "restore": 1.5})
        # Hosts that name the same server id are two names for one server, with one disk: the first host's.
        self.disk_owner = {}
        for name, server_id, _breaks in hosts:
            first = next(other for other, other_id, _b in hosts if other_id == server_id)
            self.disk_owner[name] = first
            if first != name:
                continue
            disk = self.disk(name)
            os.makedirs(disk, exist_ok=True)
            write(os.path.join(disk, "app.conf"), "version=1\n")
            write(os.path.join(disk, "health"), "ok\n")
            self.sim.state.add_server(server_id, name, disk)
        self.sim.start()
        self.sim.ports.sync()

    def disk(self, name):
        return os.path.join(self.root, "disks", self.disk_owner.get(name, name))

    def stop(self):
        self.sim.stop()

    def env(self):
        """The credentials as AWX's credential type injects them: environment only."""
        return {"VPSORG_API_URL": self.sim.api_url, "VPSORG_API_TOKEN": self.sim.token}

    def inventory(self, extra_host_vars=None):
        hosts = {}
        for name, server_id, breaks in self.hosts:
            hosts[name] = {
                "ansible_connection": "local",
                "ansible_python_interpreter": sys.executable,
                "vpsorg_server_id": server_id,
                "demo_disk": self.disk(name),
                "demo_breaks": breaks or "nothing",
                # The role's record of finished runs lives on the host's disk, as on a real host.
                "patch_with_rollback_state_dir": os.path.join(self.disk(name), "var", "lib", "vpsorg-patch-with-rollback"),
                "patch_with_rollback_verify_host": "127.0.0.1",
                "patch_with_rollback_verify_port": self.sim.ports.port_of(server_id),
                "patch_with_rollback_verify_urls": [
                    {"url": "%s/_sim/servers/%d/health" % (self.sim.url, server_id), "retries": 2, "delay": 1},
                ],
            }
            hosts[name].update((extra_host_vars or {}).get(name, {}))
        path = os.path.join(self.root, "inventory.json")
        write(path, json.dumps({"all": {"hosts": hosts}}, indent=2))
        return path

    def run(self, extra_vars=None, extra_host_vars=None, env=None, args=(), report_path="", cwd=None):
        """Run playbooks/patch_with_rollback.yml over the fleet; return (process, report).

        The report goes to ``report_path`` (default: report.json in the fleet's
        folder); with ``report_path=None`` the role's default place is used,
        which is ``cwd`` outside AWX.
        """
        if report_path == "":
            report_path = os.path.join(self.root, "report.json")
        variables = {
            "patch_with_rollback_patch_tasks": os.path.join(HERE, "patch_tasks.yml"),
            "patch_with_rollback_verify_timeout": 3,
        }
        if report_path is None:
            report = os.path.join(cwd or os.getcwd(), "patch_with_rollback-report.json")
        else:
            report = variables["patch_with_rollback_report_path"] = report_path
        if os.path.exists(report):
            os.unlink(report)
        variables.update(extra_vars or {})
        command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                   "-i", self.inventory(extra_host_vars), os.path.join(ROOT, "playbooks", "patch_with_rollback.yml"),
                   "-e", json.dumps(variables)] + list(args)
        full_env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_NOCOLOR="1", **self.env())
        full_env.update(env or {})
        process = subprocess.run(command, env=full_env, capture_output=True, text=True, timeout=900, check=False,
                                 cwd=cwd)
        result = None
        if os.path.exists(report):
            with open(report) as handle:
                result = json.load(handle)
        return process, result


def write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except OSError:
        return None


def print_report(report, fleet):
    print("\nPer-host report (run %s):" % report["run_id"])
    print("%-10s %-16s %-9s %-10s %-8s %s" % ("host", "status", "snapshot", "app.conf", "health", "message"))
    for name, server_id, _breaks in fleet.hosts:
        entry = report["hosts"].get(name, {})
        conf = (read(os.path.join(fleet.disk(name), "app.conf")) or "").strip()
        health = fleet.sim.state.health(server_id)[0]
        print("%-10s %-16s %-9s %-10s %-8s %s" % (
            name, entry.get("status"), entry.get("snapshot_id"), conf, health, entry.get("message", "")[:110]))
    print("\nTotal seconds per host:", {h: e.get("durations", {}).get("total") for h, e in report["hosts"].items()})


def main():
    with tempfile.TemporaryDirectory(prefix="vpsorg-demo-") as root:
        fleet = Fleet(root)
        try:
            print("Simulator at %s with servers %s" % (fleet.sim.api_url, ", ".join(h[0] for h in fleet.hosts)))
            print("The demo patch upgrades app.conf to version=2; it breaks web-02's health endpoint")
            print("and cuts cache-01 off the network. Both must be rolled back; the others patched.\n")
            process, report = fleet.run()
            print(process.stdout[-6000:])
            if process.stderr.strip():
                print(process.stderr[-2000:], file=sys.stderr)
            if report is None:
                print("No report was written; the run failed before its end.")
                return 1
            print_report(report, fleet)
            expected = {name: ("rolled_back" if breaks else "patched") for name, _id, breaks in fleet.hosts}
            got = {name: entry["status"] for name, entry in report["hosts"].items()}
            print("\nAs expected." if got == expected else "\nUNEXPECTED: %s" % got)
            return 0 if got == expected else 1
        finally:
            fleet.stop()


if __name__ == "__main__":
    sys.exit(main())
