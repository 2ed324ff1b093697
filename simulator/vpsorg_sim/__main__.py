"""Command line: ``python -m vpsorg_sim --server 101:web-01:/tmp/disk101 --url-file sim.url``."""

import argparse
import os
import signal
import sys
import threading
import time

from .faults import FaultRule
from .server import DEFAULT_TOKEN, SimServer
from .state import KINDS


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
    parser.add_argument("--token", default=DEFAULT_TOKEN, help="the bearer token clients must send")
    parser.add_argument("--state-file", help="JSON file that keeps the state across restarts")
    parser.add_argument("--url-file", help="write 'API_URL PID' here once listening")
    parser.add_argument("--server", type=_server, action="append", default=[], metavar="ID:NAME[:DISK]",
                        help="declare a server, optionally with a directory as its disk (repeatable)")
    parser.add_argument("--automatic-backups", type=_pair, action="append", default=[], metavar="SERVER_ID=COUNT",
                        help="seed COUNT completed automatic backups on a server (repeatable)")
    parser.add_argument("--duration", type=_pair, action="append", default=[], metavar="KIND=SECONDS",
                        help="how long a %s takes (repeatable)" % "/".join(KINDS))
    parser.add_argument("--page-size", type=int, help="paginate lists (default: one page)")
    parser.add_argument("--order", choices=("id", "created_at", "-created_at", "shuffle"), default="id")
    parser.add_argument("--fault", type=_fault, action="append", default=[], metavar="KIND:rate=R|count=N[,...]",
                        help="e.g. 429:rate=0.3,retry_after=1 or commit_drop:count=2 (repeatable)")
    parser.add_argument("--seed", type=int, help="random seed for rate-based faults")
    parser.add_argument("--exit-after", type=float, metavar="SECONDS",
                        help="stop by itself after this long (a safety net for test runs)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sim = SimServer(args.host, args.port, args.token, args.state_file, seed=args.seed, quiet=not args.verbose)
    for server_id, name, disk in args.server:
        if server_id not in sim.state.servers:
            sim.state.add_server(server_id, name, disk)
    for server_id, count in args.automatic_backups:
        for age in range(int(count), 0, -1):
            created = time.time() - age * 86400
            sim.state.seed_automatic_backup(int(server_id), created_at=created)
    durations = {kind: float(seconds) for kind, seconds in args.duration}
    sim.state.configure(durations=durations, page_size=args.page_size, order=args.order)
    for rule in args.fault:
        sim.faults.add(rule)

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.exit_after:
        timer = threading.Timer(args.exit_after, os.kill, (os.getpid(), signal.SIGTERM))
        timer.daemon = True
        timer.start()
    if args.url_file:
        sim.write_url_file(args.url_file)
    print("vpsorg simulator listening on %s (token: see --token)" % sim.api_url, flush=True)
    try:
        sim.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
