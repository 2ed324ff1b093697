"""What a newcomer runs first: README's sandbox steps, word for word, and the demo."""

import os
import re
import shutil
import signal
import subprocess
import sys

from conftest import ROOT, collections_path

from vpsorg_sim.testing import SimControl

sys.path.insert(0, os.path.join(ROOT, "demo"))

import show  # noqa: E402  (demo/show.py, what scripts/demo runs)

SECTION = "## Try it in a sandbox"


def readme_steps():
    """The commands of the first bash block under SECTION in README.md, one per line, as a person types them."""
    with open(os.path.join(ROOT, "README.md")) as handle:
        text = handle.read()
    section = text[text.index(SECTION):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def clone_like_copy(destination):
    """The files a fresh clone has (tracked and new, not ignored), plus this run's .venv."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = os.path.join(ROOT, name)
        if os.path.isfile(source):
            os.makedirs(os.path.join(destination, os.path.dirname(name)), exist_ok=True)
            shutil.copy2(source, os.path.join(destination, name))
    # The venv scripts/sandbox would otherwise build on first use (a minute or two, same requirements).
    os.symlink(sys.prefix, os.path.join(destination, ".venv"))


def fresh_shell_env(home):
    """A newcomer's shell: no ansible on PATH, no collections path, a HOME never used."""
    path = [d for d in os.environ["PATH"].split(os.pathsep)
            if d and not os.path.exists(os.path.join(d, "ansible-playbook"))]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "VPSORG_"))}
    env.update(HOME=str(home), PATH=os.pathsep.join(path))
    return env


def run_in_shell(lines, cwd, env):
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def test_readme_sandbox_steps_run_a_playbook_with_snapshot_backup_and_restore(tmp_path):
    steps = readme_steps()
    assert steps[0].startswith("scripts/sandbox ") and steps[-1].startswith("scripts/sandbox stop"), steps
    clone = tmp_path / "clone"
    clone_like_copy(str(clone))
    env = fresh_shell_env(tmp_path / "home")
    sandbox = clone / ".cache" / "sandbox"
    try:
        # Everything but the last step in one shell, as typed: the eval'd lines must reach the playbook.
        result = run_in_shell(steps[:-1], clone, env)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        assert "API token: sim-token" in output and "export VPSORG_API_TOKEN=sim-token" in output
        assert re.search(r"localhost\s+: ok=\d+\s+changed=4\s+unreachable=0\s+failed=0", output), output[-3000:]
        assert "restored from snapshot" in output and "app.conf is back to version=1" in output

        # The playbook went to the sandbox's simulator, one creation of each kind.
        api_url = (sandbox / "simulator.url").read_text().split()[0]
        posts = [e["path"] for e in SimControl(api_url).requests(method="POST")]
        assert sorted(re.sub(r"/\d+/", "/N/", p) for p in posts) == [
            "/api/v1/backups/", "/api/v1/snapshots/", "/api/v1/snapshots/N/restore/"], posts
        assert (sandbox / "disks" / "web-01" / "app.conf").read_text() == "version=1\n"

        pid = int((sandbox / "simulator.pid").read_text())
        stopped = run_in_shell(steps[-1:], clone, env)
        assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
        assert not os.path.exists("/proc/%d" % pid) or _is_zombie(pid)
    finally:
        _kill_left_over(sandbox / "simulator.pid")


def _is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().split(")")[-1].split()[0] == "Z"
    except OSError:
        return True


def _kill_left_over(pidfile):
    """A failed step must not leave the simulator running."""
    try:
        os.kill(int(pidfile.read_text()), signal.SIGTERM)
    except (OSError, ValueError):
        pass


def test_demo_prints_each_host_phase_as_it_happens_and_the_whole_messages(capsys, monkeypatch):
    monkeypatch.setenv("ANSIBLE_COLLECTIONS_PATH", collections_path())
    code, rows = show.run_demo(durations={"snapshot": 0.3, "backup": 0.3, "restore": 0.5})
    assert code == 0
    output = capsys.readouterr().out
    progress = [line.split(None, 3) for line in output.splitlines() if re.match(r"\s*\d+\.\ds  \S", line)]
    phases = {}
    for _elapsed, host, phase, _text in (p for p in progress if len(p) == 4):
        phases.setdefault(host, []).append(phase)
    for host, breaks in (("web-01", False), ("web-02", True), ("db-01", False), ("cache-01", True)):
        # The built-in quiesce (a sync) runs within the preflight's one command on the host.
        core = ["preflight", "patch", "verify"] + (["rollback", "report"] if breaks else [])
        assert [p for p in dict.fromkeys(phases[host]) if p in core + ["cleanup"]] == core, phases
    # Each wave says when it starts and why; the wave's API work is a line of its own.
    assert re.search(r"wave 1 of 2 starts: web-01 alone, as the canary", output), output[:3000]
    assert re.search(r"wave 2 of 2 starts: cache-01, db-01, web-02, since the wave before ended well enough", output)
    assert output.count("taking every snapshot of the wave (one API task, polled together)") == 2
    assert output.count("as expected (the demo patch") >= 4  # the failed check and the failed end, per host
    assert "UNEXPECTED" not in output and "fatal:" not in output and "[ERROR]" not in output
    table = output[output.index("Per-host result"):output.index("What the role said of each host:")]
    messages = output[output.index("What the role said of each host:"):]
    flat = " ".join(messages.split())
    for host, status in (("web-01", "patched"), ("web-02", "rolled_back"), ("db-01", "patched"), ("cache-01", "rolled_back")):
        assert re.search(r"^%s\s+%s\s+%s\s+\d+\s+version=%d\s+200\s+\d+\s+ok$" % (
            host, status, status, 2 if status == "patched" else 1), table, re.M), table
    assert [r["host"] for r in rows] == ["web-01", "web-02", "db-01", "cache-01"]
    for row in rows:
        assert row["message"] and " ".join(("%s: %s" % (row["host"], row["message"])).split()) in flat, row
    assert all(len(r["message"]) > 110 for r in rows if r["expected"] == "rolled_back")  # longer than the old cut
    assert "All hosts ended as expected." in output
    # The role's page of the run, beside its JSON report, is kept and named.
    page = re.search(r"^The run's report as a page .*: (\S+\.html)$", output, re.M).group(1)
    with open(page) as handle:
        html = handle.read()
    for host, status in (("web-01", "patched"), ("web-02", "rolled_back"), ("db-01", "patched"), ("cache-01", "rolled_back")):
        assert host in html and status in html
