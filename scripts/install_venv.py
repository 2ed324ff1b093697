"""Build a venv from a requirements file and say what pip is doing while it works.

    python3.X scripts/install_venv.py VENV REQUIREMENTS LOG

Run by the interpreter the venv is made from; standard library only. pip works
in two passes: ``pip wheel`` resolves the requirements and fetches a wheel of
every package into a scratch folder (the terminal hears how many so far and
which), then ``pip install --no-index`` installs from that folder alone, so the
count is known and the progress is "k of N" with an estimate of the time left.
Nothing is downloaded twice. Every line pip prints goes to LOG; the terminal
gets a line for each step and at least one every few seconds.
"""

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

# A line at least this often while pip works, sooner when a count moved.
QUIET_MAX = 9.0
QUIET_MIN = 3.0

COLLECTING = re.compile(r"^Collecting (\S+?)(?:==(\S+))?(?:\s|$)")
DOWNLOADING = re.compile(r"^\s*Downloading (\S+) \(([^)]+)\)")


def say(name, text):
    print("    %s: %s" % (name, text), flush=True)


def pace(started, done, total):
    """', about 40 s left at this pace' from the share done so far; '' when all is done."""
    if done <= 0 or done >= total:
        return ""
    left = (time.monotonic() - started) / done * (total - done)
    return ", about %s left at this pace" % seconds(left)


def plural(count, noun):
    return "%d %s%s" % (count, noun, "" if count == 1 else "s")


def seconds(value):
    value = max(1, int(round(value)))
    return "%d s" % value if value < 90 else "%d min %02d s" % divmod(value, 60)


class Pip:
    """One pip run: every line goes to the log and, through ``new_lines``, to the progress lines."""

    def __init__(self, python, args, log):
        self.lines = []
        self.lock = threading.Lock()
        env = dict(os.environ, PYTHONUNBUFFERED="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_PROGRESS_BAR="off")
        self.process = subprocess.Popen([python, "-m", "pip"] + args, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, env=env)
        self.reader = threading.Thread(target=self._read, args=(log,), daemon=True)
        self.reader.start()

    def _read(self, log):
        for line in self.process.stdout:
            log.write(line)
            log.flush()
            with self.lock:
                self.lines.append(line.rstrip("\n"))

    def new_lines(self):
        with self.lock:
            lines, self.lines = self.lines, []
        return lines

    def running(self):
        return self.process.poll() is None or self.reader.is_alive()

    def wait(self):
        self.reader.join()
        return self.process.wait()


class Step:
    """A step's progress lines: at least one every QUIET_MAX s, and one when its count moved."""

    def __init__(self, name, title):
        self.name = name
        self.started = time.monotonic()
        self.last_said = self.started
        self.moved = False
        self.last_count = None
        say(name, title)

    def tick(self, text, eta=""):
        now = time.monotonic()
        quiet = now - self.last_said
        if quiet >= QUIET_MAX or (self.moved and quiet >= QUIET_MIN):
            say(self.name, "%s; %s so far%s" % (text, seconds(now - self.started), eta))
            self.last_said = now
            self.moved = False

    def count(self, value):
        """Keep the step's count; a count that moved earns a line sooner."""
        if value != self.last_count:
            self.last_count = value
            self.moved = True

    def elapsed(self):
        return time.monotonic() - self.started


def fetch(name, python, requirements, log, wheels):
    """Pass 1: resolve the requirements and put a wheel of every package they need in ``wheels``."""
    step = Step(name, "resolving %s and downloading what it needs" % os.path.basename(requirements))
    pip = Pip(python, ["wheel", "--wheel-dir", wheels, "-r", requirements], log)
    found, latest = set(), ""
    while pip.running():
        time.sleep(0.5)
        for line in pip.new_lines():
            collecting, downloading = COLLECTING.match(line), DOWNLOADING.match(line)
            if collecting:
                package = re.split(r"[<>=!~;\[ ]", collecting.group(1))[0].lower()
                if package not in found:
                    found.add(package)
                    latest = package
            elif downloading and latest in found:
                latest = "%s, %s" % (latest, downloading.group(2))
        step.count(len(found))
        latest_text = " (latest: %s)" % latest if latest else ""
        step.tick("%s found and downloaded so far%s" % (plural(len(found), "package"), latest_text))
    if pip.wait() != 0:
        return None
    count = len([f for f in os.listdir(wheels) if f.endswith(".whl")])
    say(name, "%s downloaded in %s" % (plural(count, "package"), seconds(step.elapsed())))
    return count


def install(name, python, venv, requirements, log, wheels, total):
    """Pass 2: install from those wheels alone; the count is known now, so the progress is k of N."""
    step = Step(name, "installing %s (unpacking and compiling them)" % plural(total, "package"))
    # pip's time goes into writing files and compiling the .py ones: the time left
    # goes by that work still to do, not by the count of packages.
    work = {dist_key(f): install_work(os.path.join(wheels, f)) for f in os.listdir(wheels) if f.endswith(".whl")}
    all_work, typical = sum(work.values()), sum(work.values()) / max(len(work), 1)
    before = set(installed_dists(venv)[0])
    pip = Pip(python, ["install", "--no-index", "--find-links", wheels, "-r", requirements], log)
    first_at = None
    while pip.running():
        time.sleep(0.5)
        pip.new_lines()
        installed, current = installed_dists(venv)
        installed = set(installed) - before
        done = min(len(installed), total)
        step.count(done)
        if not done and not current:
            step.tick("pip is reading the downloaded wheels before it installs them")
            continue
        # The pace counts from the first package in: before it, pip was reading the wheels.
        first_at = first_at or time.monotonic()
        done_work = sum(work.get(key, typical) for key in installed)
        eta = pace(first_at, done_work, all_work) if done >= 3 else ""
        if current:
            now = ", now %s" % " and ".join(key.split("-")[0] for key in current)
        else:
            now = ", pip is finishing" if done == total else ""
        step.tick("%d of %d installed%s" % (done, total, now), eta)
    return pip.wait() == 0


def install_work(wheel):
    """How much pip has to do for a wheel: its files, and its .py files once more for compiling."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    return len(names) + sum(1 for name in names if name.endswith(".py"))


def dist_key(filename):
    """'ansible_core-2.19.14' for a wheel's file name and for its .dist-info folder's."""
    if filename.endswith(".dist-info"):
        name, version = filename[:-len(".dist-info")].rsplit("-", 1)
    else:
        name, version = filename.split("-")[:2]
    return "%s-%s" % (re.sub(r"[-_.]+", "_", name).lower(), version)


def installed_dists(venv):
    """(installed, being installed): pip writes a package's .dist-info/RECORD last, after compiling it."""
    installed, current = [], []
    for root, dirs, _files in os.walk(os.path.join(venv, "lib")):
        for folder in dirs:
            if folder.endswith(".dist-info"):
                done = os.path.exists(os.path.join(root, folder, "RECORD"))
                (installed if done else current).append(dist_key(folder))
        if os.path.basename(root) == "site-packages":
            dirs[:] = []
    return installed, current


def main(venv, requirements, log_path):
    name = os.path.basename(venv)
    started = time.monotonic()
    version = "%d.%d.%d" % sys.version_info[:3]
    say(name, "creating it with Python %s (%s)" % (version, sys.executable))
    with open(log_path, "w") as log:
        subprocess.run([sys.executable, "-m", "venv", venv], check=True, stdout=log, stderr=subprocess.STDOUT)
        python = os.path.join(venv, "bin", "python")
        with tempfile.TemporaryDirectory(prefix="install-venv-") as wheels:
            count = fetch(name, python, requirements, log, wheels)
            if count is None or not install(name, python, venv, requirements, log, wheels, count):
                return 1
    say(name, "ready: %s in %s" % (plural(count, "package"), seconds(time.monotonic() - started)))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
