"""Start and stop the simulator: in a thread (tests) or in the foreground (CLI)."""

import logging
import os
import threading

from werkzeug.serving import make_server

from .app import API, RequestLog, create_app
from .faults import FaultInjector
from .ports import ServicePorts
from .state import SimState

DEFAULT_TOKEN = "sim-token"


class SimServer:
    """One simulator bound to ``host``:``port`` (0 picks a free port)."""

    def __init__(self, host="127.0.0.1", port=0, token=DEFAULT_TOKEN, state_file=None, storage_dir=None, seed=None, quiet=True):
        self.token = token
        self.state = SimState(state_file=state_file, storage_dir=storage_dir)
        self.faults = FaultInjector(seed=seed)
        self.log = RequestLog()
        self.ports = ServicePorts(self.state, host)
        self.app = create_app(self.state, token, self.faults, self.log, ports=self.ports)
        if quiet:
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self._server = make_server(host, port, self.app, threaded=True)
        # The listen backlog must hold a burst of 100 concurrent clients.
        self._server.socket.listen(256)
        self.host, self.port = host, self._server.server_port
        self._thread = None

    @property
    def url(self):
        return "http://%s:%d" % (self.host, self.port)

    @property
    def api_url(self):
        return self.url + API

    def start(self):
        self.ports.start()
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="vpsorg-sim", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        self.ports.start()
        self._server.serve_forever()

    def stop(self):
        self.app.extensions["vpsorg_sim"]["stopped"].set()
        self.ports.stop()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def write_url_file(self, path):
        """``URL PID`` in one line, written atomically so a watcher never reads half of it."""
        tmp = path + ".tmp"
        with open(tmp, "w") as handle:
            handle.write("%s %d\n" % (self.api_url, os.getpid()))
        os.replace(tmp, path)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
