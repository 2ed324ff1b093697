"""Per-server service ports: a TCP port that answers only while the server is reachable.

A port check from the controller (as a patch role does after a reboot) then
sees what a real host would show: nothing while the server is restoring or
after a patch cut its network (the file ``network`` on its disk says
``down``), and an SSH-like banner otherwise.
"""

import socket
import threading
import time

BANNER = b"SSH-2.0-vpsorg-sim\r\n"


class ServicePorts:
    def __init__(self, state, host="127.0.0.1", interval=0.1):
        self.state = state
        self.host = host
        self.interval = interval
        self.ports = {}       # server_id -> port number, stable for the simulator's life
        self._listeners = {}  # server_id -> listening socket while reachable
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="vpsorg-sim-ports", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stopped.set()
        with self._lock:
            for sock in self._listeners.values():
                self._close(sock)
            self._listeners.clear()

    @staticmethod
    def _close(sock):
        # close() alone leaves the port listening while another thread sits in
        # accept(); shutdown() stops it and wakes that thread.
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()

    def port_of(self, server_id):
        with self._lock:
            return self.ports.get(server_id)

    def _watch(self):
        while not self._stopped.is_set():
            self.sync()
            time.sleep(self.interval)

    def sync(self):
        """Open the port of every reachable server with a disk; close the others."""
        with self.state.lock:
            wanted = {sid: self.state.reachable(sid) for sid, server in self.state.servers.items() if server["disk"]}
        with self._lock:
            for server_id, reachable in wanted.items():
                listening = server_id in self._listeners
                if reachable and not listening:
                    self._open(server_id)
                elif not reachable and listening:
                    self._close(self._listeners.pop(server_id))

    def _open(self, server_id):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.ports.get(server_id, 0)))
        sock.listen(16)
        self.ports[server_id] = sock.getsockname()[1]
        self._listeners[server_id] = sock
        threading.Thread(target=self._serve, args=(sock,), daemon=True).start()

    @staticmethod
    def _serve(sock):
        while True:
            try:
                conn, _addr = sock.accept()
            except OSError:
                return  # closed: the server went down
            try:
                conn.sendall(BANNER)
            except OSError:
                pass
            finally:
                conn.close()
