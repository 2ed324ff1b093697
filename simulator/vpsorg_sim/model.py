"""What every part of the simulator's state shares: kinds, limits, orders, errors and small helpers."""

import datetime
import os
import shutil
import subprocess

SNAPSHOT = "snapshot"
BACKUP = "backup"
RESTORE = "restore"
KINDS = (SNAPSHOT, BACKUP, RESTORE)

SNAPSHOT_LIMIT = 5
MANUAL_BACKUP_LIMIT = 10
NAME_MAX_LENGTH = 100
DESCRIPTION_MAX_LENGTH = 255

# A file on a server's disk whose content decides the health endpoint's answer.
HEALTH_FILE = "health"
# A file on a server's disk that, when it says "down", cuts the server off the network.
NETWORK_FILE = "network"

DEFAULT_DURATIONS = {SNAPSHOT: 1.0, BACKUP: 2.0, RESTORE: 1.0}

# How a disk is copied into a capture and back.
#   tree: Python's copytree, portable; enough for a folder of plain files.
#   cp:   ``cp -a`` (GNU or BSD): owners, hard links, device nodes and sockets
#         as they are, for a disk that is a whole root file system.
DISK_COPIES = ("tree", "cp")

# How lists are ordered. None of them is documented; the contract only says a
# list has no order and that the order may change between two page requests.
#   id, created_at, -created_at: stable sorts.
#   shuffle:   arbitrary but stable, like a table scan that nothing updates.
#   updated:   the last changed row comes last, like a heap table where an
#              UPDATE (a status change) writes the row anew: a paged read taken
#              while an object completes can skip one object and repeat another.
#   reshuffle: a new arbitrary order for every request, the worst case.
#   replicas:  two read replicas behind a round-robin balancer, each with its
#              own physical order (one by id, the other by id descending):
#              list requests alternate between them, so a read that always
#              takes page 1 from one and page 2 from the other never sees the
#              whole list, however often it repeats itself in the same rhythm.
ORDERS = ("id", "created_at", "-created_at", "shuffle", "updated", "reshuffle", "replicas")
# The physical order of each replica of the "replicas" order, by its turn.
REPLICA_ORDERS = ("id", "-id")


class SimError(Exception):
    """An API-level refusal: the HTTP layer turns it into ``status`` + ``body``."""

    def __init__(self, status, body):
        super().__init__(body)
        self.status = status
        self.body = body


def not_found(what):
    return SimError(404, {"detail": "%s not found." % what})


def isoformat(epoch):
    stamp = datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _dir_size_mb(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                # lstat: a link in a root file system may point at /proc or /dev of the machine.
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    # A real image is never empty; report at least 1 MB like a provider would.
    return max(1, total // (1024 * 1024))


def _empty_directory(path):
    for entry in os.listdir(path):
        full = os.path.join(path, entry)
        if os.path.isdir(full) and not os.path.islink(full):
            shutil.rmtree(full)
        else:
            os.unlink(full)


def _copy_disk(source, target, how):
    """Copy the folder ``source`` onto ``target`` (created if missing) the way ``how`` (DISK_COPIES) says."""
    if how == "cp":
        os.makedirs(target, exist_ok=True)
        # "source/." copies the content, so target may exist already (a restore).
        subprocess.run(["cp", "-a", os.path.join(source, "."), target], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    else:
        shutil.copytree(source, target, dirs_exist_ok=True, symlinks=True)
