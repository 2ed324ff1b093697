"""The simulator's HTTP application: auth, faults on demand and the request log around two blueprints.

The documented API is in ``api.py`` (under /api/v1/), the control API in
``control.py`` (under /_sim/). What happens around every API request (the
clock moves on, a fault may answer instead, the token is checked, the
request is logged) is here.
"""

import hmac
import html
import socket
import threading
import time

from flask import Flask, Response, g, jsonify, request

from .api import API, api
from .control import CONTROL, control
from .faults import STATUS_KINDS, FaultInjector
from .model import SimError

__all__ = ["API", "CONTROL", "RequestLog", "create_app"]

NOT_FOUND_PAGE = ("<!doctype html>\n<html lang=\"en\">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n"
                  "  <h1>Not Found</h1><p>The requested resource %s was not found on this server.</p>\n</body>\n</html>\n")


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
    """Mark the request's answer as lost: once the request is in the log, its socket is closed (_close_socket)."""
    g.dropped = True
    return Response(status=499)


def _close_socket():
    """Close the socket under the request so the client gets no answer at all.

    Only after the request is logged: a client that sees its connection close
    retries at once, and the log must show the dropped request before the retry.
    """
    sock = request.environ.get("werkzeug.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


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
    return None  # slow and the commit faults go on to the real view


def _lost_answer(rule):
    """What a commit_fail answers once the API has done the work: an error a proxy might give."""
    response = jsonify({"detail": "Service temporarily unavailable."})
    response.status_code = rule.status
    return response


# ------------------------------------------------------------------ app

def create_app(state, token, faults=None, log=None, ticker_interval=0.1, ports=None):
    app = Flask("vpsorg_sim")
    app.json.sort_keys = False
    faults = faults if faults is not None else FaultInjector()
    log = log if log is not None else RequestLog()
    # Set by SimServer.stop: a stopped simulator's ticker ends instead of ticking on with its state, which over a
    # test run's hundreds of simulators would slow every live one down.
    stopped = threading.Event()
    app.extensions["vpsorg_sim"] = {"state": state, "faults": faults, "log": log, "ports": ports, "stopped": stopped}

    if ticker_interval:
        # Transitions also happen between requests, so a disk is restored when
        # the restore's time is up even if nobody asks.
        def tick():
            while not stopped.wait(ticker_interval):
                state.advance()

        threading.Thread(target=tick, name="vpsorg-sim-ticker", daemon=True).start()

    @app.errorhandler(SimError)
    def sim_error(exc):
        response = jsonify(exc.body)
        response.status_code = exc.status
        return response

    @app.errorhandler(404)
    def unknown_path(_exc):
        # A path the API has no route for is answered by the web framework,
        # not by the API: an HTML page, as Django gives it, not the
        # {"detail": ...} the API gives for an object that does not exist.
        return Response(NOT_FOUND_PAGE % html.escape(request.path), status=404, mimetype="text/html")

    @app.errorhandler(405)
    def wrong_method(_exc):
        return jsonify({"detail": 'Method "%s" not allowed.' % request.method}), 405

    @app.before_request
    def before():
        # When the request came in; with "time" (its answer) it tells how many were in flight together.
        g.started = time.time()
        g.fault = None
        g.barriers = []
        g.dropped = False
        # Whether the request reaches the API's own view (no fault or 401 answered instead).
        g.reached_view = False
        if not request.path.startswith(API + "/"):
            return None
        state.advance()
        g.barriers, rule = faults.pick(request.method, request.path[len(API):])
        for barrier, ticket in g.barriers:
            barrier.gather(ticket)
        if rule is not None:
            g.fault = rule
            response = _fault_response(rule)
            if response is not None:
                return response
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not hmac.compare_digest(header[7:].encode(), token.encode()):
            return jsonify({"detail": "Authentication credentials were not provided or are invalid."}), 401
        g.reached_view = True
        return None

    @app.after_request
    def after(response):
        if not request.path.startswith(CONTROL + "/"):
            fault = g.get("fault")
            carried_out = bool(g.get("reached_view")) and response.status_code < 400
            if fault is not None and fault.kind == "commit_drop" and carried_out:
                _drop_connection()
            if fault is not None and fault.kind == "commit_fail" and carried_out:
                response = _lost_answer(fault)
            shown = fault.kind if fault is not None else ("barrier" if g.get("barriers") else None)
            log.add({
                "method": request.method,
                "path": request.path,
                "query": request.query_string.decode(),
                "status": response.status_code,
                "fault": shown,
                "dropped": bool(g.get("dropped")),
                # The API did the work, whatever the client was told.
                "carried_out": carried_out,
                "started": g.get("started"),
                "time": time.time(),
            })
        if g.get("dropped"):
            _close_socket()
        return response

    @app.teardown_request
    def next_in_turn(_exc):
        for barrier, _ticket in g.get("barriers", ()):
            barrier.served()

    app.register_blueprint(api)
    app.register_blueprint(control)
    return app
