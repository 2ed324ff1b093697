"""Fault soak: many creates with rotation against an API that misbehaves as the contract allows.

Figures, not a timed test. Run with scripts/soak (it sets up the venv and the
collection path). The simulator moves its list order between page requests
(a new order for each request, or two replicas in turn), serves pages of 2,
and answers 20 % of requests with 429, 10 % with a 5xx (500, 502, 503, 504),
drops 5 % of connections and, for 2 % of POSTs and 4 % of DELETEs, does the
work and loses the answer (no answer, or an HTTP 500). The modules run with
their default api_retries. Then it checks, from the simulator's own state
and request log, that exactly the expected objects exist, that rotation
deleted only the oldest of its prefix, that the results list exactly the
deletions the API carried out, and that a re-run changes nothing.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "simulator"))

from vpsorg_sim import SimServer  # noqa: E402
from vpsorg_sim.faults import FaultRule  # noqa: E402

SNAPSHOT_SERVERS = range(301, 321)   # 20 servers x 5 snapshots = 100 creates
BACKUP_SERVERS = range(401, 411)     # 10 servers x 5 backups = 50 creates
ROUNDS = 5
SNAPSHOT_KEEP = 3
BACKUP_KEEP = 4
PREFIX = "soak-"


def faults(retry_after):
    return [
        FaultRule("429", rate=0.20, retry_after=retry_after),
        FaultRule("500", rate=0.025), FaultRule("502", rate=0.025),
        FaultRule("503", rate=0.025), FaultRule("504", rate=0.025),
        FaultRule("drop", rate=0.05),
        FaultRule("commit_drop", rate=0.02),
        FaultRule("commit_drop", rate=0.02, methods=["DELETE"]),
        FaultRule("commit_fail", rate=0.02, methods=["DELETE"]),
    ]


def inventory(path):
    hosts = {}
    for server_id in SNAPSHOT_SERVERS:
        hosts["snap-%d" % server_id] = {"server": server_id, "kind": "snapshot"}
    for server_id in BACKUP_SERVERS:
        hosts["backup-%d" % server_id] = {"server": server_id, "kind": "backup"}
    for variables in hosts.values():
        variables.update(ansible_connection="local", ansible_python_interpreter=sys.executable)
    with open(path, "w") as handle:
        json.dump({"all": {"hosts": hosts}}, handle)


PLAY = """
- name: Soak
  hosts: all
  gather_facts: false
  module_defaults:
    group/vpsorg.cloud.vpsorg:
      api_retry_max_delay: 2
  tasks:
    - name: Snapshots with rotation
      vpsorg.cloud.vpsorg_snapshot:
        server_id: "{{ server }}"
        name: "%(prefix)s{{ item }}"
        rotate: {prefix: "%(prefix)s", keep: %(snapshot_keep)d}
      loop: "{{ range(snapshot_first | int, %(rounds)d + 1) | list }}"
      when: kind == 'snapshot'
      register: snapshots
      ignore_errors: true
    - name: Backups with rotation
      vpsorg.cloud.vpsorg_backup:
        server_id: "{{ server }}"
        description: "%(prefix)s{{ item }}"
        rotate: {prefix: "%(prefix)s", keep: %(backup_keep)d}
      loop: "{{ range(backup_first | int, %(rounds)d + 1) | list }}"
      when: kind == 'backup'
      register: backups
      ignore_errors: true
    - name: Prune by the same rules (nothing is left to delete)
      vpsorg.cloud.vpsorg_snapshot:
        server_id: "{{ server }}"
        state: absent
        rotate: {prefix: "%(prefix)s", keep: %(snapshot_keep)d}
      when: kind == 'snapshot'
      register: snapshot_prune
      ignore_errors: true
    - name: Prune backups by the same rules
      vpsorg.cloud.vpsorg_backup:
        server_id: "{{ server }}"
        state: absent
        rotate: {prefix: "%(prefix)s", keep: %(backup_keep)d}
      when: kind == 'backup'
      register: backup_prune
      ignore_errors: true
    - name: Keep every item's result for the figures
      ansible.builtin.copy:
        content: "{{ ((snapshots.results | default([])) + (backups.results | default([]))
                      + [snapshot_prune, backup_prune] | rejectattr('skipped', 'defined') | list) | to_json }}"
        dest: "{{ results_dir }}/{{ inventory_hostname }}.json"
        mode: "0600"
""" % {"prefix": PREFIX, "snapshot_keep": SNAPSHOT_KEEP, "backup_keep": BACKUP_KEEP, "rounds": ROUNDS}


def run_play(sim, root, forks, rerun=False):
    """One ansible-playbook run; returns (seconds, per-task results).

    The first run creates every round; a re-run replays the rounds whose
    objects must still exist (the earlier ones were rotated away, so
    replaying them would rightly create them again) and the prune tasks.
    """
    path = os.path.join(root, "soak.yml")
    with open(path, "w") as handle:
        handle.write(PLAY)
    results_dir = tempfile.mkdtemp(dir=root)
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="0", VPSORG_API_URL=sim.api_url, VPSORG_API_TOKEN=sim.token)
    started = time.monotonic()
    process = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
                              "-i", os.path.join(root, "inventory.json"), "-f", str(forks),
                              "-e", "results_dir=%s" % results_dir,
                              "-e", "snapshot_first=%d" % (ROUNDS - SNAPSHOT_KEEP + 1 if rerun else 1),
                              "-e", "backup_first=%d" % (ROUNDS - BACKUP_KEEP + 1 if rerun else 1), path],
                             env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    items = []
    for name in sorted(os.listdir(results_dir)):
        with open(os.path.join(results_dir, name)) as handle:
            items += [(name[:-5], item) for item in json.load(handle) if not item.get("skipped")]
    rounds = (SNAPSHOT_KEEP, BACKUP_KEEP) if rerun else (ROUNDS, ROUNDS)
    expected = len(SNAPSHOT_SERVERS) * (rounds[0] + 1) + len(BACKUP_SERVERS) * (rounds[1] + 1)
    if len(items) != expected:
        raise SystemExit("The play did not run every task:\n" + process.stdout[-3000:] + process.stderr[-3000:])
    return seconds, items


def counts(entries, key):
    figures = {}
    for entry in entries:
        figures[entry[key]] = figures.get(entry[key], 0) + 1
    return dict(sorted(figures.items(), key=lambda kv: str(kv[0])))


def expected_names(keep):
    return ["%s%d" % (PREFIX, n) for n in range(ROUNDS - keep + 1, ROUNDS + 1)]


def check_state(sim, deleted_ids, created):
    """Problems found in the end state; an empty list means the soak passed."""
    state, problems = sim.state, []
    for server_id, keep, objects, key in (
            [(s, SNAPSHOT_KEEP, state.list_snapshots(s), "name") for s in SNAPSHOT_SERVERS]
            + [(s, BACKUP_KEEP, [b for b in state.list_backups(s) if b["backup_type"] == "manual"], "description")
               for s in BACKUP_SERVERS]):
        names = sorted(o[key] for o in objects)
        if names != expected_names(keep):
            problems.append("server %d holds %s, expected %s" % (server_id, names, expected_names(keep)))
        # Rotation may only have deleted the oldest of the prefix: the rounds before the kept ones.
        oldest = set(created.get((server_id, "%s%d" % (PREFIX, n))) for n in range(1, ROUNDS - keep + 1))
        gone = set(i for i in deleted_ids if created_server(created, i) == server_id)
        if gone - oldest:
            problems.append("server %d: rotation deleted %s, which are not the oldest" % (server_id, sorted(gone - oldest)))
    for server_id in BACKUP_SERVERS:
        automatic = [b for b in state.list_backups(server_id) if b["backup_type"] == "automatic"]
        if len(automatic) != 1:
            problems.append("server %d lost its automatic backup" % server_id)
    return problems


def count_duplicates(sim):
    """Objects beyond the first with the same key on the same server."""
    extra = 0
    for server_id in SNAPSHOT_SERVERS:
        names = [s["name"] for s in sim.state.list_snapshots(server_id)]
        extra += len(names) - len(set(names))
    for server_id in BACKUP_SERVERS:
        names = [b["description"] for b in sim.state.list_backups(server_id, "manual")]
        extra += len(names) - len(set(names))
    return extra


def reported_deletions(items):
    """The ids every task's result lists under deleted_snapshots or deleted_backups."""
    return [d["id"] for _host, item in items for d in item.get("deleted_snapshots", []) + item.get("deleted_backups", [])]


def created_server(created, object_id):
    return next((server for (server, _name), i in created.items() if i == object_id), None)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--order", default="reshuffle", help="simulator list order (reshuffle, replicas, updated, ...)")
    parser.add_argument("--forks", type=int, default=10)
    parser.add_argument("--retry-after", type=float, default=1.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vpsorg-soak-") as root:
        sim = SimServer(token="soak-token", storage_dir=os.path.join(root, "storage"), seed=20261129)
        sim.state.configure(durations={"snapshot": 0.5, "backup": 0.5, "restore": 0.5}, page_size=2, order=args.order)
        for server_id in list(SNAPSHOT_SERVERS) + list(BACKUP_SERVERS):
            sim.state.add_server(server_id, "soak-%d" % server_id)
        for server_id in BACKUP_SERVERS:
            sim.state.seed_automatic_backup(server_id)
        sim.start()
        try:
            inventory(os.path.join(root, "inventory.json"))
            for rule in faults(args.retry_after):
                sim.faults.add(rule)
            seconds, items = run_play(sim, root, args.forks)
            log = sim.log.entries()
            failed = [(h, i.get("msg")) for h, i in items if i.get("failed")]
            created = {}
            for host, item in items:
                if item.get("invocation", {}).get("module_args", {}).get("state") == "absent":
                    continue
                obj = item.get("snapshot") or item.get("backup") or {}
                server_id = int(host.split("-")[1])
                if obj.get("id") is not None:
                    created[(server_id, obj.get("name") or obj.get("description"))] = obj["id"]
            # What the API did, whatever it answered (an answer may have been lost).
            deleted_ids = [int(e["path"].rstrip("/").rsplit("/", 1)[1]) for e in log
                           if e["method"] == "DELETE" and e["carried_out"]]
            reported = reported_deletions(items)
            duplicates = count_duplicates(sim)

            print("Soak: %d snapshot + %d backup creates with rotation, order %s, pages of 2, forks %d"
                  % (len(SNAPSHOT_SERVERS) * ROUNDS, len(BACKUP_SERVERS) * ROUNDS, args.order, args.forks))
            print("  faults: 20%% 429 (Retry-After %s s), 10%% 5xx (500/502/503/504), 5%% drops, answers lost "
                  "after the work for 2%% of POSTs and 4%% of DELETEs; default api_retries" % args.retry_after)
            print("  first run: %.1f s, %d tasks (creates, then a prune per server), %d failed, %d changed" % (
                seconds, len(items), len(failed), len([1 for _h, i in items if i.get("changed")])))
            print("  requests: %d %s" % (len(log), counts(log, "method")))
            print("  by status: %s" % counts(log, "status"))
            print("  faults injected: %s" % counts([e for e in log if e["fault"]], "fault"))
            print("  DELETEs carried out whose answer was lost: %d"
                  % len([e for e in log if e["method"] == "DELETE" and e["carried_out"]
                         and (e["status"] >= 400 or e["dropped"])]))
            print("  POSTs the API carried out: %d (one per object)"
                  % len([e for e in log if e["method"] == "POST" and e["status"] in (200, 201)]))
            print("  duplicate objects: %d" % duplicates)
            print("  rotation deletes: %d carried out by the API, %d in the results (expected %d)" % (
                len(deleted_ids), len(reported),
                len(SNAPSHOT_SERVERS) * (ROUNDS - SNAPSHOT_KEEP) + len(BACKUP_SERVERS) * (ROUNDS - BACKUP_KEEP)))
            for host, message in failed[:10]:
                print("  FAILED %s: %s" % (host, message))

            sim.log.clear()
            seconds, items = run_play(sim, root, args.forks, rerun=True)
            log = sim.log.entries()
            rerun_changed = len([1 for _h, i in items if i.get("changed")])
            rerun_failed = len([1 for _h, i in items if i.get("failed")])
            mutations = len([e for e in log if e["method"] != "GET" and e["status"] < 400])
            print("  re-run of the rounds that must exist, and the prunes: %.1f s, %d changed, %d failed, "
                  "%d mutating requests served"
                  % (seconds, rerun_changed, rerun_failed, mutations))
            problems = ["%d duplicate objects" % duplicates] if duplicates else []
            if sorted(reported) != sorted(deleted_ids):
                problems.append("the results list deletions %s, the API carried out %s"
                                % (sorted(reported), sorted(deleted_ids)))
            problems += ["%d failed tasks" % (len(failed) + rerun_failed)] if failed or rerun_failed else []
            problems += ["the re-run changed %d" % rerun_changed] if rerun_changed else []
            problems += check_state(sim, deleted_ids, created)
            print("\n%s" % ("PASSED: exactly the expected objects, 0 duplicates, 0 failed tasks, re-run 0 changes"
                            if not problems else "PROBLEMS:\n  " + "\n  ".join(sorted(set(problems)))))
            return 1 if problems else 0
        finally:
            sim.stop()


if __name__ == "__main__":
    sys.exit(main())
