"""The token appears nowhere in -vvvv output, failures included."""

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
