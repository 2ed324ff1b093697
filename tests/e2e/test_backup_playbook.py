"""The job-template playbook vpsorg.cloud.backup, run by its FQCN against simulated servers."""

import os
import sys

from conftest import ROOT
from test_playbooks import run

sys.path.insert(0, os.path.join(ROOT, "demo"))

from fleet import Fleet  # noqa: E402

HOSTS = [("web-01", 101, None), ("web-02", 102, None)]


def descriptions(fleet, server_id):
    return sorted((b["description"], b["backup_type"]) for b in fleet.sim.state.list_backups(server_id))


def test_backup_playbook_backs_up_the_group_and_rotates_its_prefix(tmp_path):
    fleet = Fleet(str(tmp_path), HOSTS, durations={"backup": 0.2})
    try:
        automatic = fleet.sim.state.seed_automatic_backup(101)["id"]
        fleet.sim.state.create_backup(101, "manual-keep")
        for description in ("nightly-1", "nightly-2", "nightly-3"):
            process = run(fleet, "backup", "-e", "backup_description=%s" % description, "-e", "backup_prefix=nightly-",
                          "-e", "backup_keep=2")
            assert process.returncode == 0, process.stdout[-2000:]
        assert "nightly-3 (id" in process.stdout and "completed)" in process.stdout
        assert descriptions(fleet, 101) == [("Automatic daily backup", "automatic"), ("manual-keep", "manual"), ("nightly-2", "manual"),
                                            ("nightly-3", "manual")]
        assert descriptions(fleet, 102) == [("nightly-2", "manual"), ("nightly-3", "manual")]
        assert automatic in [b["id"] for b in fleet.sim.state.list_backups(101)]
        # Limited to one host, the other is not backed up.
        assert run(fleet, "backup", "-e", "target=web-02", "-e", "backup_description=nightly-4",
                   "-e", "backup_prefix=nightly-").returncode == 0
        assert descriptions(fleet, 101)[-1] == ("nightly-3", "manual")
        assert descriptions(fleet, 102) == [("nightly-3", "manual"), ("nightly-4", "manual")]
    finally:
        fleet.stop()
