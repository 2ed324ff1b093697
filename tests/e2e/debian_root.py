"""A minimal Debian root for the end-to-end tests, built once per machine and cached as a tarball.

The recipe below (suite, variant, packages, mirror and what is trimmed
afterwards) is hashed into the tarball's name under
``$XDG_CACHE_HOME/vpsorg-cloud/`` (``~/.cache/vpsorg-cloud/`` by default):
a changed recipe builds a new root, an unchanged one is never built twice.

    python tests/e2e/debian_root.py            build the root if it is missing; print where it is
    python tests/e2e/debian_root.py measure [DIR]
                                               time copies of the root (cp -a, cp -al) and their deletion in DIR

Building needs root, ``debootstrap`` (scripts/test installs it) and the
Debian mirror. debootstrap runs in mount and PID namespaces of its own, so
whatever it mounts in the new root (/proc, /sys) goes away with it and never
stays in the machine's mount table, and whatever it starts is killed with it.
"""

import contextlib
import fcntl
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

RECIPE = {
    "suite": "bookworm",
    "variant": "minbase",
    # python3-apt: the apt module needs it and could not install it from the
    # tests' repository, which is the only source the hosts have.
    "include": ["openssh-server", "python3", "python3-apt"],
    "mirror": os.environ.get("VPSORG_DEBIAN_MIRROR", "http://deb.debian.org/debian"),
    # Removed after the build, relative to the root: the Debian package lists
    # and caches (the hosts' only source is the tests' own repository),
    # documentation (half the copy time), the host keys (each host makes its
    # own) and the console device (a host has no business with the machine's).
    "remove": [
        "var/lib/apt/lists/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb",
        "usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
        "etc/ssh/ssh_host_*", "dev/console", "dev/ptmx",
    ],
    # Pseudo-terminals come from the devpts instance each host mounts for itself.
    "symlinks": {"dev/ptmx": "pts/ptmx"},
}

# The device nodes a host keeps (character devices, major 1 and 5): nothing that reaches a disk.
HARMLESS_DEVICES = {"dev/null", "dev/zero", "dev/full", "dev/random", "dev/urandom", "dev/tty"}


class RootUnavailable(Exception):
    """The root is not cached and cannot be built here; the message says what to do."""


def recipe_key(recipe=None):
    text = json.dumps(recipe or RECIPE, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "vpsorg-cloud")


def tarball_path(recipe=None):
    recipe = recipe or RECIPE
    return os.path.join(cache_dir(), "debian-%s-%s-%s.tar.gz" % (recipe["suite"], recipe["variant"], recipe_key(recipe)))


@contextlib.contextmanager
def _locked(path):
    """One builder per tarball at a time: a second one waits, then finds the tarball made."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure(log=None):
    """The cached tarball's path; builds it first if it is missing (minutes, once per machine)."""
    path = tarball_path()
    if os.path.exists(path):
        return path
    os.makedirs(cache_dir(), exist_ok=True)
    with _locked(path + ".lock"):
        if not os.path.exists(path):
            build(path, log or (lambda message: None))
    return path


def build(path, log):
    if os.geteuid() != 0:
        raise RootUnavailable("building the Debian test root needs root (debootstrap, device nodes, owners)")
    if shutil.which("debootstrap") is None:
        raise RootUnavailable("debootstrap is missing: scripts/test installs it (or: apt-get install debootstrap)")
    work = tempfile.mkdtemp(prefix="build-", dir=os.path.dirname(path))
    try:
        root = os.path.join(work, "root")
        started = time.monotonic()
        _debootstrap(root, os.path.join(work, "debootstrap.log"))
        log("debootstrap: %.0f s" % (time.monotonic() - started))
        trim(root)
        partial = path + ".partial"
        subprocess.run(["tar", "--numeric-owner", "-C", root, "-czf", partial, "."], check=True)
        os.replace(partial, path)
        log("root cached: %s (%.0f s in all)" % (path, time.monotonic() - started))
    finally:
        remove_tree(work)


def _debootstrap(root, log_path):
    command = ["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--kill-child",
               "debootstrap", "--variant=" + RECIPE["variant"], "--include=" + ",".join(RECIPE["include"]),
               RECIPE["suite"], root, RECIPE["mirror"]]
    with open(log_path, "w") as log:
        process = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)
    if process.returncode != 0:
        with open(log_path) as handle:
            tail = handle.read()[-3000:]
        raise RootUnavailable("debootstrap failed (exit %d); is %s reachable?\n%s"
                              % (process.returncode, RECIPE["mirror"], tail))


def trim(root):
    for pattern in RECIPE["remove"]:
        for victim in glob.glob(os.path.join(root, pattern)):
            if os.path.isdir(victim) and not os.path.islink(victim):
                shutil.rmtree(victim)
            else:
                os.unlink(victim)
    for link, target in RECIPE["symlinks"].items():
        os.symlink(target, os.path.join(root, link))
    for folder, _dirs, files in os.walk(os.path.join(root, "dev")):
        for name in files:
            relative = os.path.relpath(os.path.join(folder, name), root)
            if not os.path.islink(os.path.join(root, relative)) and relative not in HARMLESS_DEVICES:
                os.unlink(os.path.join(root, relative))


def mounts_under(path):
    """Mount points at or below ``path`` in this process's mount namespace."""
    path = os.path.realpath(path)
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point == path or point.startswith(path + os.sep):
                found.append(point)
    return found


def remove_tree(path):
    """rmtree that refuses to walk into anything mounted below ``path`` (the machine's /proc, say)."""
    mounted = mounts_under(path)
    if mounted:
        raise RuntimeError("not removing %s: %s mounted below it; unmount first" % (path, ", ".join(mounted)))
    shutil.rmtree(path, ignore_errors=True)


def unpack(tarball, target):
    os.makedirs(target, exist_ok=True)
    subprocess.run(["tar", "--numeric-owner", "-C", target, "-xzf", tarball], check=True)


def copy_tree(source, target, hard_links=False):
    """cp -a, every file copied: what hosts and snapshots use.

    cp -al (hard links) is faster (see measure) but only for ``measure``: the
    copy would share every file with its source, so a write in place (a log
    appended, sshd's among them) in one host would show in the base, in the
    other hosts and in its snapshots.
    """
    subprocess.run(["cp", "-al" if hard_links else "-a", source, target], check=True)


def measure(parent=None, rounds=3):
    """Print what unpacking the root, and copying and deleting a copy of it (cp -a, cp -al), take under ``parent``."""
    tarball = ensure(log=print)
    work = tempfile.mkdtemp(prefix="debian-root-measure-", dir=parent)
    try:
        root = os.path.join(work, "root")
        started = time.monotonic()
        unpack(tarball, root)
        print("unpack %s into %s: %.2f s" % (os.path.basename(tarball), work, time.monotonic() - started))
        size = subprocess.run(["du", "-sm", root], capture_output=True, text=True, check=True).stdout.split()[0]
        files = sum(len(names) + len(dirs) for _root, dirs, names in os.walk(root))
        print("root: %s MB, %d files and folders" % (size, files))
        for label, hard_links in (("cp -a", False), ("cp -al (hard links)", True)):
            times = []
            for number in range(rounds):
                target = os.path.join(work, "copy-%d" % number)
                started = time.monotonic()
                copy_tree(root, target, hard_links)
                copied = time.monotonic() - started
                # Deleting what is only in the page cache is cheap; what the teardown meets is on the disk.
                subprocess.run(["sync"], check=True)
                started = time.monotonic()
                shutil.rmtree(target)
                times.append("%.2f/%.2f" % (copied, time.monotonic() - started))
            print("%-22s copy/delete s: %s" % (label, " ".join(times)))
    finally:
        remove_tree(work)


def main(argv):
    if argv[1:2] == ["measure"] and len(argv) <= 3:
        measure(*argv[2:])
        return 0
    if argv[1:]:
        print(__doc__)
        return 2
    started = time.monotonic()
    try:
        path = ensure(log=print)
    except RootUnavailable as exc:
        print(exc)
        return 1
    print("%s (%.0f s)" % (path, time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
