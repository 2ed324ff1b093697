"""Which expired holds the playbook vpsorg.cloud.prune_holds deletes, and why it keeps the others."""

from __future__ import annotations

import calendar
import time

from ansible_collections.vpsorg.cloud.plugins.plugin_utils.holds import expired_holds

NOW = calendar.timegm((2026, 12, 6, 12, 0, 0, 0, 0, 0))
HOUR = 3600


def snap(object_id, server_id, name, hours_ago, hold=24 * HOUR, status="completed"):
    return {"id": object_id, "server": {"id": server_id}, "name": name, "status": status,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW - hours_ago * HOUR)),
            "description": ("hold=%ds once verified; run x" % hold) if hold else "run x"}


def listed(*names):
    return {"changed": False, "stdout_lines": list(names)}


def test_an_expired_hold_goes_only_where_the_hosts_record_names_it():
    snapshots = [snap(1, 101, "pre-patch-a", 30), snap(2, 102, "pre-patch-a", 30), snap(3, 103, "pre-patch-a", 30),
                 snap(4, 101, "pre-patch-b", 2),          # still held
                 snap(5, 101, "pre-patch-c", 50, hold=None),  # no hold: not this playbook's
                 snap(6, 101, "nightly-a", 50),            # outside the prefix
                 snap(7, 104, "pre-patch-a", 30)]          # a server of no host of the play
    probes = {"web-01": listed("pre-patch-a", "/usr/bin/apt-get"), "web-02": listed(),
              "web-03": {"unreachable": True, "msg": "gone"}}
    plan = expired_holds(snapshots, "pre-patch-", {"web-01": 101, "web-02": "102", "web-03": 103}, probes, NOW)
    assert [(e["id"], e["hosts"]) for e in plan["delete"]] == [(1, ["web-01"])]
    assert [(e["id"], e["reason"]) for e in plan["kept"]] == [
        (2, "web-02's record of finished runs does not name it: the run did not end patched there (rolled back, failed "
            "or interrupted); mark the host resolved first"),
        (3, "web-03 did not answer, or its record of finished runs could not be read")]


def test_a_server_two_hosts_name_loses_its_hold_only_when_both_records_name_it():
    snapshots = [snap(1, 101, "pre-patch-a", 30)]
    one = expired_holds(snapshots, "pre-patch-", {"web": 101, "db": 101},
                        {"web": listed("pre-patch-a"), "db": listed()}, NOW)
    assert one["delete"] == [] and one["kept"][0]["reason"].startswith("db's record")
    both = expired_holds(snapshots, "pre-patch-", {"web": 101, "db": 101},
                         {"web": listed("pre-patch-a"), "db": listed("pre-patch-a")}, NOW)
    assert [e["id"] for e in both["delete"]] == [1]


def test_a_snapshot_not_completed_or_of_a_host_without_server_id_is_not_looked_at():
    snapshots = [snap(1, 101, "pre-patch-a", 30, status="in_progress"), snap(2, 102, "pre-patch-a", 30)]
    plan = expired_holds(snapshots, "pre-patch-", {"web-01": 101, "web-02": "x"},
                         {"web-01": listed("pre-patch-a"), "web-02": listed("pre-patch-a")}, NOW)
    assert plan == {"delete": [], "kept": []}


def test_a_record_read_with_stray_spaces_counts_and_a_failed_read_does_not():
    snapshots = [snap(1, 101, "pre-patch-a", 30), snap(2, 102, "pre-patch-a", 30)]
    probes = {"web-01": listed(" pre-patch-a\r"),
              "web-02": dict(listed("pre-patch-a"), failed=True, msg="cat: Permission denied")}
    plan = expired_holds(snapshots, "pre-patch-", {"web-01": 101, "web-02": 102}, probes, NOW)
    assert [e["id"] for e in plan["delete"]] == [1]
    assert [(e["id"], e["reason"]) for e in plan["kept"]] == [
        (2, "web-02 did not answer, or its record of finished runs could not be read")]


def test_expired_holds_come_oldest_first_with_the_hosts_of_their_server_sorted():
    snapshots = [snap(2, 101, "pre-patch-b", 30), snap(1, 101, "pre-patch-a", 40)]
    both = listed("pre-patch-a", "pre-patch-b")
    plan = expired_holds(snapshots, "pre-patch-", {"web": 101, "db": 101}, {"web": both, "db": both}, NOW)
    assert [(e["id"], e["hosts"]) for e in plan["delete"]] == [(1, ["db", "web"]), (2, ["db", "web"])]
