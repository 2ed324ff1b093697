"""Servers: their status, their network and health as the demo sees them, and restores."""

import os

from .model import HEALTH_FILE, NETWORK_FILE, RESTORE, SimError, _copy_disk, _empty_directory, not_found


class ServersMixin:
    """Servers and restores; part of :class:`~vpsorg_sim.state.SimState`."""

    def add_server(self, server_id, name, disk=None, status="running"):
        with self.lock:
            if disk:
                disk = os.path.abspath(disk)
                os.makedirs(disk, exist_ok=True)
            self.servers[int(server_id)] = {"id": int(server_id), "name": name, "status": status, "disk": disk}
            self._save()
            return self.servers[int(server_id)]

    def attach_machine(self, server_id, machine):
        """Tie a machine to a server: a restore powers it off when it starts, and boots it once the disk is back.

        ``machine`` has ``power_off()`` and ``boot()``. Both are called with the
        state's lock held, so they must return soon: ``boot`` starts the
        machine and does not wait for it. A failed restore leaves it off.
        In-process only (tests): not persisted, not in the control API.
        """
        with self.lock:
            self._server(server_id)
            self.machines[int(server_id)] = machine

    def _server(self, server_id):
        server = self.servers.get(server_id)
        if server is None:
            raise not_found("Server")
        return server

    def server_view(self, server_id):
        with self.lock:
            server = self._server(server_id)
            return {"id": server["id"], "name": server["name"], "status": server["status"]}

    def _server_ref(self, server_id):
        server = self.servers.get(server_id, {"id": server_id, "name": None})
        return {"id": server["id"], "name": server["name"]}

    def reachable(self, server_id):
        """Whether the server answers on the network (its service port is open)."""
        with self.lock:
            server = self._server(server_id)
            if server["status"] != "running":
                return False
            if not server["disk"]:
                return True
            try:
                with open(os.path.join(server["disk"], NETWORK_FILE)) as handle:
                    return handle.read().strip() != "down"
            except OSError:
                return True

    def health(self, server_id):
        """(HTTP status, body) of the server's own health endpoint."""
        with self.lock:
            server = self._server(server_id)
            if server["status"] != "running":
                return 503, "server is %s\n" % server["status"]
            if not self.reachable(server_id):
                return 503, "server is unreachable\n"
            if not server["disk"]:
                return 200, "ok\n"
            try:
                with open(os.path.join(server["disk"], HEALTH_FILE)) as handle:
                    content = handle.read().strip()
            except OSError:
                content = "missing"
            return (200, "ok\n") if content == "ok" else (503, "unhealthy: %s\n" % content)

    def _start_restore(self, server_id, source_kind, source_id):
        server = self._server(server_id)
        if server["status"] != "running" and server["status"] != "stopped":
            raise SimError(400, {"detail": "Server is not in a valid state for restoration (status: %s)." % server["status"]})
        self.restores[server_id] = {
            "server_id": server_id,
            "source_kind": source_kind,
            "source_id": source_id,
            "outcome": self._outcome(RESTORE, server_id),
            "ready_at": self.clock() + self.duration(RESTORE, server_id),
        }
        if server_id in self.machines:
            self.machines[server_id].power_off()
        server["status"] = "restoring"
        self._save()
        return {"id": server["id"], "name": server["name"], "status": server["status"]}

    def _finish_restore(self, server_id, restore):
        """End a due restore; or, when a disk is to be put back, return the copy that ends it (see advance)."""
        server = self.servers.get(server_id)
        capture = self._capture_path(restore["source_kind"], restore["source_id"])
        if server is None or restore["outcome"] != "completed" or not (server["disk"] and os.path.isdir(capture)):
            self._end_restore(server_id, failed=restore["outcome"] != "completed")
            return None
        restore["copying"] = True
        disk, how = server["disk"], self.config["disk_copy"]

        def put_back():
            try:
                _empty_directory(disk)
                _copy_disk(capture, disk, how)
            except Exception:
                with self.lock:
                    self._end_restore(server_id, failed=True)
                    self._save()
                raise
            with self.lock:
                self._end_restore(server_id)
                self._save()

        return put_back

    def _end_restore(self, server_id, failed=False):
        self.restores.pop(server_id, None)
        server = self.servers.get(server_id)
        if server is None:
            return
        server["status"] = "error" if failed else "running"
        if not failed and server_id in self.machines:
            self.machines[server_id].boot()
