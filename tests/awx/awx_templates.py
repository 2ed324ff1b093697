"""The AWX objects of docs/awx/awx_setup.yml as data: each task's module and arguments, with the
play's module_defaults merged in, and setup-time variables ("{{ name }}" of the play's vars)
filled in. Job-time templates (marked !unsafe in the playbook) are kept as text, as AWX gets them.
"""

import os
import re

from ansible.parsing.dataloader import DataLoader
from jinja2 import StrictUndefined, UndefinedError
from jinja2.nativetypes import NativeEnvironment

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SETUP = os.path.join(ROOT, "docs", "awx", "awx_setup.yml")
PLAIN_VAR = re.compile(r"\{\{ *([a-z_]+) *\}\}")
# A value that is one expression ("{{ a if b else {} }}"), evaluated at set-up time when it names only the play's vars.
EXPRESSION = re.compile(r"\{\{(.*)\}\}", re.S)
JINJA = NativeEnvironment(undefined=StrictUndefined)


def plain(value):
    """Tagged or unsafe YAML values as plain Python data."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    return value


def load_plays(path=SETUP):
    return plain(DataLoader().load_from_file(path))


def module_of(task):
    return next((key for key in task if key.startswith("awx.awx.")), None)


def tasks(path=SETUP, setup_vars=None):
    """[(play, module, arguments)] of every awx.awx task; setup_vars override the play's vars."""
    found = []
    for play in load_plays(path):
        if "import_playbook" in play or "ansible.builtin.import_playbook" in play:
            imported = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
            found.extend(tasks(os.path.join(os.path.dirname(path), imported), setup_vars))
            continue
        variables = dict(play.get("vars", {}), **(setup_vars or {}))
        for task in play.get("tasks", []):
            module = module_of(task)
            if module:
                arguments = dict(play.get("module_defaults", {}).get(module, {}), **task[module])
                found.append((play, module, fill(arguments, variables)))
    return found


def fill(value, variables):
    """Put the play's vars into "{{ name }}" templates; leave every other template as it is."""
    if isinstance(value, dict):
        return {k: fill(v, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, variables) for v in value]
    if isinstance(value, str):
        whole = PLAIN_VAR.fullmatch(value.strip())
        if whole and whole.group(1) in variables:
            return fill(variables[whole.group(1)], variables)
        expression = EXPRESSION.fullmatch(value.strip())
        if expression and "{{" not in expression.group(1):
            try:
                return fill(JINJA.compile_expression(expression.group(1).strip(), undefined_to_none=False)(**variables),
                            variables)
            except UndefinedError:
                pass  # a job-time template (!unsafe in the playbook): AWX gets it as text
        return PLAIN_VAR.sub(lambda m: str(variables[m.group(1)]) if m.group(1) in variables else m.group(0), value)
    return value


def job_templates(setup_vars=None):
    return {args["name"]: args for _play, module, args in tasks(setup_vars=setup_vars) if module == "awx.awx.job_template"}


def workflow(name, setup_vars=None):
    return next(args for _play, module, args in tasks(setup_vars=setup_vars)
                if module == "awx.awx.workflow_job_template" and args["name"] == name)
