"""The HTTP face of the simulator: the documented API under /api/v1/, control under /_sim/."""

import hmac
import json
import re
import socket
import threading
import time
from urllib.parse import urlencode

from flask import Flask, Response, g, jsonify, request

from .faults import STATUS_KINDS, FaultInjector, FaultRule
from .state import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, SimError

API = "/api/v1"
CONTROL = "/_sim"
SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


class RequestLog:
    """What the simulator was asked, so tests can count requests exactly."""

    def __init__(self):
        self._lock = threading.Lock()
        self._entries = []

    def add(self, entry):
        with self._lock:
            self._entries.append(entry)

    def entries(self):
        with self._lock:
            return list(self._entries)

    def clear(self):
        with self._lock:
            self._entries = []


# ------------------------------------------------------------------ validation

def _json_body():
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise SimError(400, {"detail": "JSON parse error - %s" % exc})
    if not isinstance(body, dict):
        raise SimError(400, {"non_field_errors": ["Invalid data. Expected a dictionary, but got %s." % type(body).__name__]})
    return body


def _integer(body, field, errors, required=True):
    value = body.get(field)
    if value is None:
        if required:
            errors[field] = ["This field is required."]
        return None
    # bool is an int in Python, but not in JSON: true is not a server id.
    if isinstance(value, bool) or not isinstance(value, int):
        errors[field] = ["A valid integer is required."]
        return None
    return value


def _string(body, field, errors, max_length, required=False, pattern=None):
    value = body.get(field)
    if value is None:
        if required:
            errors[field] = ["This field is required."]
        return ""
    if not isinstance(value, str):
        errors[field] = ["Not a valid string."]
    elif required and not value:
        errors[field] = ["This field may not be blank."]
    elif len(value) > max_length:
        errors[field] = ["Ensure this field has no more than %d characters." % max_length]
    elif pattern is not None and not pattern.match(value):
        errors[field] = ["Only letters, digits, hyphens and underscores are allowed."]
    return value


def _raise_errors(errors):
    if errors:
        raise SimError(400, errors)


def _query_int(name):
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise SimError(400, {name: ["A valid integer is required."]})


# ------------------------------------------------------------------ listing

def _page(items, page_size):
    """``count`` + ``results``, with absolute next/previous URLs when paginated."""
    if not page_size:
        return {"count": len(items), "next": None, "previous": None, "results": items}
    page = _query_int("page") or 1
    pages = max(1, -(-len(items) // page_size))
    if page < 1 or page > pages:
        raise SimError(404, {"detail": "Invalid page."})

    def link(number):
        args = request.args.to_dict()
        args["page"] = number
        return "%s%s?%s" % (request.host_url.rstrip("/"), request.path, urlencode(args))

    start = (page - 1) * page_size
    return {
        "count": len(items),
        "next": link(page + 1) if page < pages else None,
        "previous": link(page - 1) if page > 1 else None,
        "results": items[start:start + page_size],
    }


# ------------------------------------------------------------------ faults

def _drop_connection():
    """Close the socket under the request so the client gets no answer at all."""
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    g.dropped = True
    return Response(status=499)


def _fault_response(rule):
    if rule.kind in STATUS_KINDS:
        status = STATUS_KINDS[rule.kind]
        response = jsonify({"detail": "Request was throttled." if status == 429 else "Service temporarily unavailable."})
        response.status_code = status
        if status == 429 and rule.retry_after is not None:
            response.headers["Retry-After"] = str(rule.retry_after)
        return response
    if rule.kind == "garbage":
        body = "<html><body><h1>%d Bad Gateway</h1><p>upstream error</p></body></html>" % rule.status
        return Response(body, status=rule.status, mimetype="text/html")
    if rule.kind == "drop":
        return _drop_connection()
    if rule.kind == "slow":
        time.sleep(rule.delay)
    if rule.kind == "barrier":
        rule.gather()
    return None  # slow, barrier and commit_drop go on to the real view


# ------------------------------------------------------------------ app

def create_app(state, token, faults=None, log=None, ticker_interval=0.1, ports=None):
    app = Flask("vpsorg_sim")
    app.json.sort_keys = False
    faults = faults if faults is not None else FaultInjector()
    log = log if log is not None else RequestLog()
    app.extensions["vpsorg_sim"] = {"state": state, "faults": faults, "log": log}

    if ticker_interval:
        # Transitions also happen between requests, so a disk is restored when
        # the restore's time is up even if nobody asks.
        def tick():
            while True:
                time.sleep(ticker_interval)
                state.advance()

        threading.Thread(target=tick, name="vpsorg-sim-ticker", daemon=True).start()

    @app.errorhandler(SimError)
    def sim_error(exc):
        response = jsonify(exc.body)
        response.status_code = exc.status
        return response

    @app.errorhandler(404)
    def unknown_path(_exc):
        return jsonify({"detail": "Not found."}), 404

    @app.errorhandler(405)
    def wrong_method(_exc):
        return jsonify({"detail": 'Method "%s" not allowed.' % request.method}), 405

    @app.before_request
    def before():
        g.fault = None
        g.dropped = False
        if not request.path.startswith(API + "/"):
            return None
        state.advance()
        rule = faults.pick(request.method, request.path[len(API):])
        if rule is not None:
            g.fault = rule
            response = _fault_response(rule)
            if response is not None:
                return response
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not hmac.compare_digest(header[7:].encode(), token.encode()):
            return jsonify({"detail": "Authentication credentials were not provided or are invalid."}), 401
        return None

    @app.after_request
    def after(response):
        if not request.path.startswith(CONTROL + "/"):
            fault = g.get("fault")
            if fault is not None and fault.kind == "commit_drop" and response.status_code < 400:
                _drop_connection()
            log.add({
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode(),
                "status": response.status_code,
                "fault": fault.kind if fault is not None else None,
                "dropped": bool(g.get("dropped")),
                "time": time.time(),
            })
        return response

    # -------------------------------------------------------------- backups

    @app.get(API + "/backups/")
    def list_backups():
        backup_type = request.args.get("backup_type") or None
        if backup_type not in (None, "manual", "automatic"):
            raise SimError(400, {"backup_type": ['"%s" is not a valid choice.' % backup_type]})
        items = state.list_backups(_query_int("server_id"), backup_type)
        return jsonify(_page(items, state.config["page_size"]))

    @app.post(API + "/backups/")
    def create_backup():
        body, errors = _json_body(), {}
        server_id = _integer(body, "server_id", errors)
        description = _string(body, "description", errors, DESCRIPTION_MAX_LENGTH)
        _raise_errors(errors)
        return jsonify(state.create_backup(server_id, description)), 201

    @app.delete(API + "/backups/<int:backup_id>/")
    def delete_backup(backup_id):
        state.delete_backup(backup_id)
        return Response(status=204)

    @app.post(API + "/servers/<int:server_id>/restore/")
    def restore_backup(server_id):
        body, errors = _json_body(), {}
        backup_id = _integer(body, "backup_id", errors)
        _raise_errors(errors)
        return jsonify(state.restore_backup(server_id, backup_id)), 200

    @app.get(API + "/servers/<int:server_id>/")
    def get_server(server_id):
        return jsonify(state.server_view(server_id))

    # ------------------------------------------------------------ snapshots

    @app.get(API + "/snapshots/")
    def list_snapshots():
        items = state.list_snapshots(_query_int("server_id"))
        return jsonify(_page(items, state.config["page_size"]))

    @app.post(API + "/snapshots/")
    def create_snapshot():
        body, errors = _json_body(), {}
        server_id = _integer(body, "server_id", errors)
        name = _string(body, "name", errors, NAME_MAX_LENGTH, required=True, pattern=SNAPSHOT_NAME)
        description = _string(body, "description", errors, DESCRIPTION_MAX_LENGTH)
        _raise_errors(errors)
        return jsonify(state.create_snapshot(server_id, name, description)), 201

    @app.post(API + "/snapshots/<int:snapshot_id>/restore/")
    def restore_snapshot(snapshot_id):
        return jsonify(state.restore_snapshot(snapshot_id)), 200

    @app.delete(API + "/snapshots/<int:snapshot_id>/")
    def delete_snapshot(snapshot_id):
        state.delete_snapshot(snapshot_id)
        return Response(status=204)

    # -------------------------------------------------------------- control

    def control_body():
        return request.get_json(silent=True) or {}

    @app.get(CONTROL + "/ping")
    def ping():
        return jsonify({"status": "ok"})

    @app.post(CONTROL + "/reset")
    def reset():
        """Clear faults and the request log; with {"state": true} also every object."""
        body = control_body()
        faults.clear()
        log.clear()
        state.release()
        if body.get("state"):
            state.reset(servers=body.get("servers", False))
        return jsonify({"status": "reset"})

    @app.get(CONTROL + "/requests")
    def requests_made():
        return jsonify(log.entries())

    @app.delete(CONTROL + "/requests")
    def clear_requests():
        log.clear()
        return Response(status=204)

    @app.get(CONTROL + "/faults")
    def list_faults():
        return jsonify(faults.rules())

    @app.post(CONTROL + "/faults")
    def add_fault():
        try:
            faults.add(FaultRule(**control_body()))
        except (TypeError, ValueError) as exc:
            raise SimError(400, {"detail": str(exc)})
        return jsonify(faults.rules()), 201

    @app.delete(CONTROL + "/faults")
    def clear_faults():
        faults.clear()
        return Response(status=204)

    @app.post(CONTROL + "/holds")
    def hold():
        """Keep operations of a kind (on one server, or all) in progress until released."""
        body = control_body()
        state.hold(body.get("kind"), body.get("server_id"))
        return jsonify(state.holds), 201

    @app.delete(CONTROL + "/holds")
    def release():
        """Release holds (all, or by kind and server); with "finish": true, end their operations now."""
        body = control_body()
        state.release(body.get("kind"), body.get("server_id"), bool(body.get("finish")))
        return Response(status=204)

    @app.get(CONTROL + "/config")
    def get_config():
        return jsonify(state.config)

    @app.patch(CONTROL + "/config")
    def patch_config():
        return jsonify(state.configure(**control_body()))

    @app.post(CONTROL + "/outcomes")
    def plan_outcome():
        body = control_body()
        state.plan_outcome(body.get("kind"), body.get("outcome", "failed"), body.get("server_id"), int(body.get("count", 1)))
        return jsonify({"status": "planned"}), 201

    @app.post(CONTROL + "/servers")
    def add_server():
        body = control_body()
        server = state.add_server(body["id"], body.get("name", "server-%s" % body["id"]), body.get("disk"), body.get("status", "running"))
        return jsonify(server), 201

    @app.get(CONTROL + "/servers")
    def list_servers():
        if ports is not None:
            ports.sync()
        with state.lock:
            servers = [dict(s, service_port=ports.port_of(s["id"]) if ports else None) for s in state.servers.values()]
        return jsonify(servers)

    @app.post(CONTROL + "/servers/<int:server_id>/automatic_backups")
    def seed_automatic_backup(server_id):
        body = control_body()
        return jsonify(state.seed_automatic_backup(server_id, **body)), 201

    @app.get(CONTROL + "/servers/<int:server_id>/health")
    def server_health(server_id):
        state.advance()
        status, text = state.health(server_id)
        return Response(text, status=status, mimetype="text/plain")

    return app
