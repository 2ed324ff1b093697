"""docs/awx/awx_setup.yml, without an AWX: it parses, every argument is one awx.awx's modules
document (ansible-doc), and the canary workflow only prompts for what its templates allow."""

import json
import os

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from awx_templates import SETUP, job_templates, tasks, workflow
from conftest import ROOT, ansible, this_collection_path

PROJECT = os.path.join(ROOT, "docs", "awx", "example-project")
PATCH = "VPS.org: patch with rollback"
MERGE = "VPS.org: merge patch reports"
STAND_INS = {"str": "x", "int": 1, "bool": True, "list": [], "dict": {}, "float": 1.0, "path": "/x", "raw": "x"}


def test_the_setup_playbook_passes_syntax_check(awx_collections):
    process = ansible("ansible-playbook", "--syntax-check", SETUP, collections=awx_collections)
    assert process.returncode == 0, process.stdout + process.stderr


def test_the_project_playbooks_pass_syntax_check():
    playbooks = sorted(os.path.join(PROJECT, name) for name in os.listdir(PROJECT) if name.endswith(".yml"))
    assert [os.path.basename(p) for p in playbooks] == [
        "backup.yml", "inventory.example.yml", "patch.yml", "prune_backups.yml", "prune_holds.yml",
        "prune_snapshots.yml", "report_merge.yml", "restore.yml", "rollback_run.yml", "snapshot.yml"]
    for playbook in playbooks:
        if not playbook.endswith("inventory.example.yml"):
            process = ansible("ansible-playbook", "--syntax-check", playbook, collections=this_collection_path())
            assert process.returncode == 0, process.stdout + process.stderr


@pytest.fixture(scope="module")
def awx_docs(awx_collections):
    modules = sorted(set(module for _play, module, _args in tasks()))
    process = ansible("ansible-doc", "-t", "module", "--json", *modules, collections=awx_collections)
    assert process.returncode == 0, process.stderr
    docs = json.loads(process.stdout)
    assert sorted(docs) == modules
    return docs


def spec_of(options):
    """An argument spec from a module's documented options."""
    spec = {}
    for name, option in options.items():
        entry = {"type": option.get("type", "str")}
        for key in ("elements", "choices", "required", "aliases"):
            if key in option:
                entry[key] = option[key]
        if "suboptions" in option:
            entry["options"] = spec_of(option["suboptions"])
        spec[name] = entry
    return spec


def stand_in(value, spec):
    """Templated values (filled in when the playbook runs) become a value of the documented type."""
    if isinstance(value, str) and "{{" in value:
        return STAND_INS.get(spec.get("type", "str"), "x")
    if isinstance(value, dict) and "options" in spec:
        return {k: stand_in(v, spec["options"].get(k, {})) for k, v in value.items()}
    if isinstance(value, list) and "options" in spec:
        return [stand_in(v, {"options": spec["options"]}) for v in value]
    return value


def test_every_argument_is_documented_by_awx_awx(awx_docs):
    checked = 0
    for _play, module, arguments in tasks():
        spec = spec_of(awx_docs[module]["doc"]["options"])
        result = ArgumentSpecValidator(spec).validate(stand_in(arguments, {"options": spec}))
        assert not result.error_messages, "%s %r: %s" % (module, arguments.get("name"), result.error_messages)
        checked += 1
    assert checked == 15


def test_the_argument_check_can_fail(awx_docs):
    spec = spec_of(awx_docs["awx.awx.job_template"]["doc"]["options"])
    wrong = {"name": "x", "playbook": "p.yml", "job_slice_counts": 4, "become_enabled": "maybe"}
    messages = " ".join(ArgumentSpecValidator(spec).validate(wrong).error_messages)
    assert "job_slice_counts" in messages and "become_enabled" in messages


def test_the_patch_template():
    template = job_templates()[PATCH]
    assert template["playbook"] == "patch.yml" and os.path.isfile(os.path.join(PROJECT, "patch.yml"))
    # The API credential and the machine credential; become for the package upgrade.
    assert template["credentials"] == ["VPS.org", ""] and template["become_enabled"] is True
    assert template["job_slice_count"] == 4
    questions = {q["variable"]: q for q in template["survey_spec"]["spec"]}
    assert sorted(questions) == ["patch_with_rollback_cleanup", "patch_with_rollback_first_wave", "patch_with_rollback_hold",
                                 "patch_with_rollback_max_fail_percentage", "patch_with_rollback_run_id", "target"]
    # A change is held for an undo when the operator says so; the default stays what it was.
    assert questions["patch_with_rollback_cleanup"]["choices"].split("\n") == ["delete", "keep", "keep_newest", "hold"]
    assert questions["patch_with_rollback_cleanup"]["default"] == "delete"
    assert questions["patch_with_rollback_hold"]["default"] == "24h"
    assert template["survey_enabled"] is True
    # No shared folder by default: the reports travel in the jobs' artifacts, and the merge reads them there.
    assert template["extra_vars"] == {} and job_templates()[MERGE]["extra_vars"] == {}
    # With one, each job writes its own report into the shared folder, named after the run and the job.
    shared = job_templates(setup_vars={"vpsorg_awx_report_dir": "/var/lib/vpsorg-reports"})
    template = shared[PATCH]
    assert template["extra_vars"]["vpsorg_report_dir"] == "/var/lib/vpsorg-reports"
    assert template["extra_vars"]["patch_with_rollback_report_path"].startswith("{{ vpsorg_report_dir }}/patch-")
    assert shared[MERGE]["extra_vars"]["report_merge_sources"] == ["/var/lib/vpsorg-reports"]
    assert shared[MERGE]["extra_vars"]["report_merge_pattern"].startswith("patch-{{ (patch_with_rollback_run_id")


def test_every_project_playbook_has_a_template():
    playbooks = sorted(t["playbook"] for t in job_templates().values())
    assert playbooks == ["backup.yml", "patch.yml", "prune_backups.yml", "prune_holds.yml", "prune_snapshots.yml",
                         "report_merge.yml", "restore.yml", "rollback_run.yml", "snapshot.yml"]
    for name, template in job_templates().items():
        assert os.path.isfile(os.path.join(PROJECT, template["playbook"])), name


def test_the_canary_workflow_gates_the_sliced_fleet_on_the_canary():
    templates = job_templates(setup_vars={"vpsorg_awx_canary_limit": "canary"})
    nodes = {node["identifier"]: node for node in workflow("VPS.org: patch with a canary")["workflow_nodes"]}
    assert sorted(nodes) == ["canary", "fleet", "merge"]
    canary, fleet = nodes["canary"], nodes["fleet"]
    assert canary["unified_job_template"]["name"] == fleet["unified_job_template"]["name"] == PATCH
    assert canary["limit"] == "canary" and canary["job_slice_count"] == 1
    # The fleet runs only after the canary succeeded, sliced, over every host but the canary's.
    assert canary["related"]["success_nodes"] == [{"identifier": "fleet"}]
    assert fleet["limit"] == "all:!canary" and fleet["job_slice_count"] == 4
    # The canary already ran: one wave per slice, no canary per slice.
    assert fleet["extra_data"] == {"patch_with_rollback_first_wave": "100%"}
    # The reports are merged whatever happened.
    assert canary["related"]["failure_nodes"] == [{"identifier": "merge"}]
    assert fleet["related"]["always_nodes"] == [{"identifier": "merge"}]
    # Every job of the change holds its snapshots for the undo when the operator says so, as long as they say.
    questions = {q["variable"]: q for q in workflow("VPS.org: patch with a canary")["survey_spec"]["spec"]}
    assert questions["patch_with_rollback_cleanup"]["choices"].split("\n") == ["delete", "keep", "keep_newest", "hold"]
    assert questions["patch_with_rollback_cleanup"]["default"] == "delete"
    assert questions["patch_with_rollback_hold"]["default"] == "24h"
    assert nodes["merge"]["unified_job_template"]["name"] == "VPS.org: merge patch reports"
    # AWX ignores what a node sets unless its template prompts for it.
    for node in nodes.values():
        template = templates[node["unified_job_template"]["name"]]
        for field, prompt in (("limit", "ask_limit_on_launch"), ("extra_data", "ask_variables_on_launch"),
                              ("job_slice_count", "ask_job_slice_count_on_launch")):
            if field in node:
                assert template.get(prompt) is True, "%s sets %s but %s is not set" % (node["identifier"], field, prompt)


def test_the_undo_template_and_the_daily_prune_of_expired_holds():
    templates = job_templates(setup_vars={"vpsorg_awx_hold": "3d"})
    undo = templates["VPS.org: undo a change"]
    assert undo["playbook"] == "rollback_run.yml" and undo["become_enabled"] is True
    assert undo["credentials"] == ["VPS.org", ""] and undo["ask_job_type_on_launch"] is True
    assert undo["ask_limit_on_launch"] is False
    questions = {q["variable"]: q for q in undo["survey_spec"]["spec"]}
    assert sorted(questions) == ["rollback_run_first_wave", "rollback_run_hosts", "rollback_run_id"]
    assert questions["rollback_run_id"]["required"] and questions["rollback_run_hosts"]["required"]
    assert undo["extra_vars"] == {"patch_with_rollback_snapshot_prefix": "pre-patch-"}
    # The prune of expired holds reads the hosts' records: the machine credential, become.
    prune = templates["VPS.org: prune expired holds"]
    assert prune["playbook"] == "prune_holds.yml" and prune["become_enabled"] is True
    assert prune["credentials"] == ["VPS.org", ""] and prune["extra_vars"] == {"prefix": "pre-patch-"}
    assert prune["ask_limit_on_launch"] is False
    schedules = [args for _play, module, args in tasks() if module == "awx.awx.schedule"]
    assert [(s["unified_job_template"], s["rrule"], s["enabled"]) for s in schedules] == [
        ("VPS.org: prune expired holds", "DTSTART:20260101T030000Z RRULE:FREQ=DAILY;INTERVAL=1", True)]
