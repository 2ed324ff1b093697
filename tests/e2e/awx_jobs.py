"""AWX's jobs as the collection meets them, without an AWX: each job is an ansible-runner run with its own
private data directory, the credential in its environment only, and AWX's own extra vars.

A sliced job template (job_slice_count N) becomes N jobs that AWX starts at once, possibly on
different execution nodes. Slice k (1-based) gets the inventory's hosts sorted by name, from the
k-th on, every N-th (AWX's Inventory.get_sliced_hosts: hosts[k-1::N]); groups keep only the hosts
of the slice, and a job template's limit is applied by ansible-playbook within the slice. Each
slice has its own job id (awx_job_id); all of them share the workflow job AWX makes for the
sliced job (awx_workflow_job_id). AWX gives no slice-number variable.
"""

import json
import os
import sys

import runner_results

BIN = os.path.dirname(sys.executable)


def awx_slices(names, count):
    """The hosts of each slice, as AWX splits an inventory into ``count`` slices."""
    ordered = sorted(names)
    return [ordered[index::count] for index in range(count)]


class Job:
    """One ansible-runner job; ``wait()`` gives the runner (status, rc, events, config.artifact_dir)."""

    def __init__(self, job_id, hosts, thread, runner):
        self.job_id = job_id
        self.hosts = hosts
        self.thread = thread
        self.runner = runner

    def wait(self, timeout=900):
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "job %s did not end in %s s" % (self.job_id, timeout)
        return self.runner

    @property
    def artifact_dir(self):
        return self.runner.config.artifact_dir

    def report(self, name="patch_with_rollback-report.json"):
        path = os.path.join(self.artifact_dir, name)
        with open(path) as handle:
            return json.load(handle)

    def events(self):
        """The job's events, once it has ended (see runner_results)."""
        return runner_results.events(self.wait())

    def stats(self):
        """The job's set_stats data, once it has ended."""
        return runner_results.stats_data(self.wait())

    def host_events(self, kinds=None, task=None):
        return runner_results.host_events(self.wait(), kinds, task)


class Awx:
    """Starts jobs over a demo Fleet the way AWX would."""

    def __init__(self, root, fleet, collections_path, groups=None):
        self.root = root
        self.fleet = fleet
        self.collections_path = collections_path
        self.groups = groups or {}
        with open(fleet.inventory()) as handle:
            self.hostvars = json.load(handle)["all"]["hosts"]

    def inventory(self, job_id, hosts):
        """The job's inventory file: only ``hosts``, and the groups cut down to them."""
        groups = {name: {"hosts": {h: {} for h in members if h in hosts}} for name, members in self.groups.items()}
        local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        data = {"all": {"hosts": {h: self.hostvars.get(h, local) for h in hosts}, "children": groups}}
        path = os.path.join(self.root, "inventory-%s.json" % job_id)
        with open(path, "w") as handle:
            json.dump(data, handle, indent=2)
        return path

    def env(self):
        """The job's environment: the credential as the credential type injects it, and this checkout's collection."""
        return dict(self.fleet.env(), ANSIBLE_COLLECTIONS_PATH=self.collections_path, ANSIBLE_NOCOLOR="1",
                    ANSIBLE_LOCALHOST_WARNING="0", PATH=BIN + os.pathsep + os.environ.get("PATH", ""))

    def launch(self, job_id, playbook, hosts, extra_vars=None, limit=None, workflow_job_id=None, template="Patch"):
        import ansible_runner

        private = os.path.join(self.root, "job-%s" % job_id)
        os.makedirs(os.path.join(private, "env"), exist_ok=True)
        meta = {"awx_job_id": job_id, "tower_job_id": job_id, "awx_job_template_name": template,
                "awx_job_launch_type": "workflow" if workflow_job_id else "manual"}
        if workflow_job_id:
            meta.update(awx_workflow_job_id=workflow_job_id, tower_workflow_job_id=workflow_job_id)
        thread, runner = ansible_runner.run_async(
            private_data_dir=private, ident=str(job_id), playbook=playbook,
            inventory=self.inventory(job_id, hosts), limit=limit,
            extravars=dict(extra_vars or {}, **meta), envvars=self.env(),
            # As AWX does by default: the token stays out of files in the private data dir.
            suppress_env_files=True, quiet=True)
        return Job(job_id, hosts, thread, runner)

    def launch_sliced(self, first_job_id, count, playbook, extra_vars=None, limit=None, workflow_job_id=None):
        """Every slice of a sliced job, started at once; job ids first_job_id, first_job_id + 1, ..."""
        workflow_job_id = workflow_job_id or first_job_id - 1
        return [self.launch(first_job_id + index, playbook, hosts, extra_vars, limit, workflow_job_id)
                for index, hosts in enumerate(awx_slices(self.hostvars, count))]
