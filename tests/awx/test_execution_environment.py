"""The execution environment definition: ansible-builder writes its build context (no container
engine needed), and ansible-builder finds the collection's Python dependency in the built collection."""

import os
import re
import subprocess
import sys

import yaml

from conftest import ROOT, ansible

DEFINITION = os.path.join(ROOT, "execution-environment", "execution-environment.yml")
BUILDER = os.path.join(os.path.dirname(sys.executable), "ansible-builder")


def builder(*args):
    assert os.path.exists(BUILDER), "ansible-builder is not installed next to %s" % sys.executable
    return subprocess.run([BUILDER] + list(args), capture_output=True, text=True, timeout=300, check=False)


def load(path):
    with open(path) as handle:
        return yaml.safe_load(handle)


def test_ansible_builder_writes_the_build_context(tmp_path):
    context = tmp_path / "context"
    process = builder("create", "-f", DEFINITION, "-c", str(context), "--output-filename", "Containerfile")
    assert process.returncode == 0, process.stdout + process.stderr
    containerfile = (context / "Containerfile").read_text()
    definition = load(DEFINITION)
    assert 'ARG EE_BASE_IMAGE="%s"' % definition["images"]["base_image"]["name"] in containerfile
    assert 'ARG PYCMD="/usr/bin/python3.12"' in containerfile
    # The collections are installed from the definition's requirements, copied into the context.
    assert load(context / "_build" / "requirements.yml") == load(os.path.join(ROOT, "execution-environment", "requirements.yml"))
    assert [c["name"] for c in load(context / "_build" / "requirements.yml")["collections"]] == ["vpsorg.cloud"]
    assert "ansible-galaxy collection install $ANSIBLE_GALAXY_CLI_COLLECTION_OPTS -r requirements.yml" in containerfile
    # Python dependencies are found by introspecting the installed collections.
    assert "introspect.py introspect" in containerfile


def test_the_definition_allows_the_lowest_ansible_core_the_collection_declares():
    declared = load(os.path.join(ROOT, "meta", "runtime.yml"))["requires_ansible"]
    package = load(DEFINITION)["dependencies"]["ansible_core"]["package_pip"]
    assert re.search(r">=\s*([\d.]+)", declared).group(1).startswith(re.search(r">=\s*([\d.]+)", package).group(1))


def test_ansible_builder_finds_the_collections_python_dependency(tmp_path):
    build = ansible("ansible-galaxy", "collection", "build", "--output-path", str(tmp_path), ROOT)
    assert build.returncode == 0, build.stdout + build.stderr
    tarball = [name for name in os.listdir(tmp_path) if name.endswith(".tar.gz")]
    installed = ansible("ansible-galaxy", "collection", "install", "-p", str(tmp_path / "collections"),
                        str(tmp_path / tarball[0]))
    assert installed.returncode == 0, installed.stdout + installed.stderr
    process = builder("introspect", "--sanitize", str(tmp_path / "collections"))
    assert process.returncode == 0, process.stdout + process.stderr
    found = yaml.safe_load(process.stdout.split("---", 1)[1])
    with open(os.path.join(ROOT, "requirements.txt")) as handle:
        wanted = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    assert found["python"] == ["%s  # from collection vpsorg.cloud" % line for line in wanted]
    assert found["system"] == []
