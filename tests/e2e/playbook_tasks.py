"""Run a few module tasks through ansible-playbook against the simulator, and read what they returned."""

import json


def task_result(process, name="result"):
    """The registered result the playbook printed with ``debug: var=result``."""
    marker = '"%s": ' % name
    text = process.stdout
    start = text.rindex(marker) + len(marker)
    return json.JSONDecoder().raw_decode(text[start:])[0]


def run_tasks(playbook, sim, tasks, args=(), inventory="localhost,", hosts="localhost", gather=""):
    """Run ``tasks`` (YAML, indented 4) with the connection set for the group; print ``result`` at the end."""
    text = """
    - hosts: %s
      connection: local
      gather_facts: false
      module_defaults:
        group/vpsorg.cloud.vpsorg:
          api_url: %s
          api_token: %s
          api_retries: 8
          api_retry_max_delay: 1
      tasks:
%s
        - name: Show the result
          ansible.builtin.debug:
            var: result
    """ % (hosts, sim.api_url, sim.token, tasks)
    return playbook(text, args=args, inventory=inventory)


def requests_of(sim, method, path=None):
    return sim.control.requests(method=method, path=path)
