"""The simulator's HTTP application: auth, faults on demand and the request log around two blueprints.

The documented API is in ``api.py`` (under /api/v1/), the control API in
``control.py`` (under /_sim/). What happens around every API request (the
clock moves on, a fault may answer instead, the token is checked, the
request is logged) is here.
"""

import hmac
import socket
import threading
import time

from flask import Flask, Response, g, jsonify, request

from .api import API, api
from .control import CONTROL, control
from .faults import STATUS_KINDS, FaultInjector
from .model import SimError

__all__ = ["API", "CONTROL", "RequestLog", "create_app"]


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
    app.extensions["vpsorg_sim"] = {"state": state, "faults": faults, "log": log, "ports": ports}

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

    app.register_blueprint(api)
    app.register_blueprint(control)
    return app
