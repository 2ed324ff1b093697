"""The token appears nowhere in -vvvv output, failures included, nor in any file of an ansible-runner job."""

import json
import os
import re
import sys

import ansible_runner

from conftest import collections_path

WRONG = "tok-wrong-51b0e2-secret"

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Create a snapshot with the token from the environment
      vpsorg.cloud.vpsorg_snapshot:
        server_id: 101
        name: secrecy
      register: created

    - name: Fail with an API error
      vpsorg.cloud.vpsorg_backup:
        server_id: 99999
      ignore_errors: true

    - name: Fail authentication with a token given as an option
      vpsorg.cloud.vpsorg_snapshot_info:
        api_token: "{{ lookup('env', 'WRONG_TOKEN') }}"
      ignore_errors: true

    - name: Refuse plain http to a remote host
      vpsorg.cloud.vpsorg_snapshot_info:
        api_url: http://admin.vps.org/api/v1
      ignore_errors: true

    - name: Show the whole result
      ansible.builtin.debug:
        var: created
"""


def test_token_in_no_output_at_vvvv(vpsorg_sim, playbook):
    env = {"VPSORG_API_TOKEN": vpsorg_sim.token, "VPSORG_API_URL": vpsorg_sim.api_url, "WRONG_TOKEN": WRONG}
    result = playbook(PLAYBOOK, env=env, args=["-vvvv"])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Server not found" in output and "HTTP 401" in output and "Refusing to send the API token" in output
    assert vpsorg_sim.token not in output
    assert WRONG not in output
    assert len(vpsorg_sim.control.requests(method="POST")) == 2


SECRET_KEY = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY", re.I)


def redact_runner_command(artifact_dir):
    """ansible-runner's artifacts_handler: blank the secret-looking variables it wrote to ``command``.

    runner (2.4) records the job's whole environment in artifacts/<ident>/command,
    with or without suppress_env_files; docs/awx.md shows this handler.
    """
    path = os.path.join(artifact_dir, "command")
    with open(path) as handle:
        command = json.load(handle)
    command["env"] = {k: "**redacted**" if SECRET_KEY.search(k) else v for k, v in command["env"].items()}
    with open(path, "w") as handle:
        json.dump(command, handle)


def files_holding(root, secrets):
    """{relative path: [secrets found in it]} for every file under root."""
    found = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                data = handle.read()
            hits = [s for s in secrets if s.encode() in data]
            if hits:
                found[os.path.relpath(path, root)] = hits
    return found


def test_runner_job_leaves_the_token_in_no_file_of_its_private_data_dir(vpsorg_sim, tmp_path, monkeypatch):
    private = tmp_path / "private"
    (private / "project").mkdir(parents=True)
    (private / "project" / "secrecy.yml").write_text(PLAYBOOK)
    # As AWX injects the credential: in the job's environment only, never in a file of the job.
    envvars = {"VPSORG_API_TOKEN": vpsorg_sim.token, "VPSORG_API_URL": vpsorg_sim.api_url, "WRONG_TOKEN": WRONG,
               "ANSIBLE_COLLECTIONS_PATH": collections_path(), "ANSIBLE_NOCOLOR": "1"}
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}
    written = {}

    def artifacts_handler(artifact_dir):
        written["command"] = files_holding(artifact_dir, [vpsorg_sim.token])
        redact_runner_command(artifact_dir)

    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])  # this venv's ansible-playbook
    result = ansible_runner.run(private_data_dir=str(private), playbook="secrecy.yml", inventory=inventory,
                                envvars=envvars, suppress_env_files=True, verbosity=4, quiet=True,
                                artifacts_handler=artifacts_handler)
    stdout = result.stdout.read()
    assert result.status == "successful", stdout[-3000:]
    assert "Server not found" in stdout and "HTTP 401" in stdout and "Refusing to send the API token" in stdout
    assert len(vpsorg_sim.control.requests(method="POST")) == 2
    assert not (private / "env").exists()  # suppress_env_files: no env/envvars
    # What docs/awx.md says runner does; if this changes, the docs must too.
    assert written["command"] == {"command": [vpsorg_sim.token]}, written
    assert files_holding(str(private), [vpsorg_sim.token, WRONG]) == {}
