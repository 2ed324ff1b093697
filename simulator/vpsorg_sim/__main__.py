"""Command line: ``vpsorg-sim --sandbox /tmp/sandbox`` or ``vpsorg-sim --server 101:web-01:/tmp/disk101``."""

import argparse
import os
import shlex
import signal
import sys
import threading
import time

from .faults import FaultRule
from .server import DEFAULT_TOKEN, SimServer
from .model import KINDS, ORDERS

# What --sandbox seeds: a small fleet whose disks are folders a playbook can look into.
SANDBOX_SERVERS = ((101, "web-01"), (102, "web-02"), (103, "db-01"))
SANDBOX_AUTOMATIC_BACKUPS = 3
# Long enough to watch a task wait, short enough for a first playbook.
SANDBOX_DURATIONS = {"snapshot": 2.0, "backup": 3.0, "restore": 3.0}
SANDBOX_DISK_FILES = {"app.conf": "version=1\n", "health": "ok\n"}


def _server(text):
    parts = text.split(":", 2)
    if len(parts) < 2 or not parts[0].isdigit():
        raise argparse.ArgumentTypeError("expected ID:NAME[:DISK_DIRECTORY], got %r" % text)
    return int(parts[0]), parts[1], parts[2] if len(parts) == 3 else None


def _pair(text):
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("expected KEY=VALUE, got %r" % text)
    return key, value


def _fault(text):
    try:
        return FaultRule.parse(text)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc))


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="vpsorg-sim", description="A VPS.org backup and snapshot API simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 (the default) binds a free port")
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bearer token clients must send (default: %(default)s)")
    parser.add_argument("--sandbox", metavar="DIR",
                        help="seed servers %s with disks under DIR/disks and %d automatic backups each"
                        % (", ".join("%d (%s)" % s for s in SANDBOX_SERVERS), SANDBOX_AUTOMATIC_BACKUPS))
    parser.add_argument("--state-file", help="JSON file that keeps the state across restarts")
    parser.add_argument("--url-file", help="write 'API_URL PID' here once listening")
    parser.add_argument("--env-file", help="write shell 'export' lines for the URL and token here once listening")
    parser.add_argument("--server", type=_server, action="append", default=[], metavar="ID:NAME[:DISK]",
                        help="declare a server, optionally with a directory as its disk (repeatable)")
    parser.add_argument("--automatic-backups", type=_pair, action="append", default=[], metavar="SERVER_ID=COUNT",
                        help="seed COUNT completed automatic backups on a server (repeatable)")
    parser.add_argument("--duration", type=_pair, action="append", default=[], metavar="KIND=SECONDS",
                        help="how long a %s takes (repeatable)" % "/".join(KINDS))
    parser.add_argument("--page-size", type=int, help="paginate lists (default: one page)")
    parser.add_argument("--order", choices=ORDERS, default="id")
    parser.add_argument("--fault", type=_fault, action="append", default=[], metavar="KIND:rate=R|count=N[,...]",
                        help="e.g. 429:rate=0.3,retry_after=1 or commit_drop:count=2 (repeatable)")
    parser.add_argument("--seed", type=int, help="random seed for rate-based faults")
    parser.add_argument("--exit-after", type=float, metavar="SECONDS",
                        help="stop by itself after this long (a safety net for test runs)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def seed_sandbox(sim, directory):
    """The --sandbox fleet; a server already in a state file is left as it is."""
    durations = dict(SANDBOX_DURATIONS)
    for server_id, name in SANDBOX_SERVERS:
        if server_id in sim.state.servers:
            continue
        disk = os.path.join(os.path.abspath(directory), "disks", name)
        os.makedirs(disk, exist_ok=True)
        for filename, content in SANDBOX_DISK_FILES.items():
            path = os.path.join(disk, filename)
            if not os.path.exists(path):
                with open(path, "w") as handle:
                    handle.write(content)
        sim.state.add_server(server_id, name, disk)
        seed_automatic_backups(sim, server_id, SANDBOX_AUTOMATIC_BACKUPS)
    return durations


def seed_automatic_backups(sim, server_id, count):
    """COUNT completed automatic backups, one a day, the newest yesterday."""
    for age in range(int(count), 0, -1):
        sim.state.seed_automatic_backup(int(server_id), created_at=time.time() - age * 86400)


def export_lines(sim):
    return [
        "export VPSORG_API_URL=%s" % shlex.quote(sim.api_url),
        "export VPSORG_API_TOKEN=%s" % shlex.quote(sim.token),
    ]


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def banner(sim):
    """What a person needs to point a playbook at this simulator, token included: it is not a secret."""
    lines = [
        "vpsorg simulator listening on %s" % sim.api_url,
        "API token: %s" % sim.token,
        "For your shell:",
    ]
    lines += ["  " + line for line in export_lines(sim)]
    lines.append("Servers:")
    for server_id in sorted(sim.state.servers):
        server = sim.state.servers[server_id]
        automatic = len(sim.state.list_backups(server_id, backup_type="automatic"))
        lines.append("  %d %-10s disk %s, %d automatic backups"
                     % (server_id, server["name"], server.get("disk") or "(none)", automatic))
    if not sim.state.servers:
        lines.append("  (none: add some with --server, --sandbox or POST /_sim/servers)")
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sim = SimServer(args.host, args.port, args.token, args.state_file, seed=args.seed, quiet=not args.verbose)
    durations = seed_sandbox(sim, args.sandbox) if args.sandbox else {}
    for server_id, name, disk in args.server:
        if server_id not in sim.state.servers:
            sim.state.add_server(server_id, name, disk)
    for server_id, count in args.automatic_backups:
        seed_automatic_backups(sim, server_id, count)
    durations.update((kind, float(seconds)) for kind, seconds in args.duration)
    sim.state.configure(durations=durations, page_size=args.page_size, order=args.order)
    for rule in args.fault:
        sim.faults.add(rule)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.exit_after:
        timer = threading.Timer(args.exit_after, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
    # The socket already listens; the banner comes first so a watcher of the URL file finds it complete.
    print(banner(sim), flush=True)
    if args.env_file:
        write_atomically(args.env_file, "\n".join(export_lines(sim)) + "\n")
    if args.url_file:
        sim.write_url_file(args.url_file)
    try:
        sim.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
