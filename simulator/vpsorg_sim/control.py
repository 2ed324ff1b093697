"""The control API under /_sim/ (no token): what tests, demos and sandboxes steer the simulator with."""

from flask import Blueprint, Response, current_app, jsonify, request

from .faults import FaultRule
from .model import SimError

CONTROL = "/_sim"

control = Blueprint("control", __name__, url_prefix=CONTROL)


def _part(name):
    """The state, faults, log or ports this app serves."""
    return current_app.extensions["vpsorg_sim"].get(name)


def control_body():
    return request.get_json(silent=True) or {}


@control.get("/ping")
def ping():
    return jsonify({"status": "ok"})


@control.post("/reset")
def reset():
    """Clear faults and the request log; with {"state": true} also every object."""
    body = control_body()
    _part("faults").clear()
    _part("log").clear()
    _part("state").release()
    if body.get("state"):
        _part("state").reset(servers=body.get("servers", False))
    return jsonify({"status": "reset"})


@control.get("/requests")
def requests_made():
    return jsonify(_part("log").entries())


@control.delete("/requests")
def clear_requests():
    _part("log").clear()
    return Response(status=204)


@control.get("/faults")
def list_faults():
    return jsonify(_part("faults").rules())


@control.post("/faults")
def add_fault():
    try:
        _part("faults").add(FaultRule(**control_body()))
    except (TypeError, ValueError) as exc:
        raise SimError(400, {"detail": str(exc)})
    return jsonify(_part("faults").rules()), 201


@control.delete("/faults")
def clear_faults():
    _part("faults").clear()
    return Response(status=204)


@control.post("/holds")
def hold():
    """Keep operations of a kind (on one server, or all) in progress until released."""
    body = control_body()
    _part("state").hold(body.get("kind"), body.get("server_id"))
    return jsonify(_part("state").holds), 201


@control.delete("/holds")
def release():
    """Release holds (all, or by kind and server); with "finish": true, end their operations now."""
    body = control_body()
    _part("state").release(body.get("kind"), body.get("server_id"), bool(body.get("finish")))
    return Response(status=204)


@control.get("/config")
def get_config():
    return jsonify(_part("state").config)


@control.patch("/config")
def patch_config():
    return jsonify(_part("state").configure(**control_body()))


@control.post("/outcomes")
def plan_outcome():
    body = control_body()
    _part("state").plan_outcome(body.get("kind"), body.get("outcome", "failed"), body.get("server_id"), int(body.get("count", 1)))
    return jsonify({"status": "planned"}), 201


@control.post("/servers")
def add_server():
    body = control_body()
    server = _part("state").add_server(body["id"], body.get("name", "server-%s" % body["id"]), body.get("disk"), body.get("status", "running"))
    return jsonify(server), 201


@control.get("/servers")
def list_servers():
    ports, state = _part("ports"), _part("state")
    if ports is not None:
        ports.sync()
    with state.lock:
        servers = [dict(s, service_port=ports.port_of(s["id"]) if ports else None) for s in state.servers.values()]
    return jsonify(servers)


@control.post("/servers/<int:server_id>/automatic_backups")
def seed_automatic_backup(server_id):
    body = control_body()
    return jsonify(_part("state").seed_automatic_backup(server_id, **body)), 201


@control.patch("/<any(snapshots, backups):plural>/<int:object_id>")
def backdate(plural, object_id):
    """{"age_seconds": N}: make an object N seconds old (negative: in the future), to test retention by age."""
    _part("state").backdate(plural[:-1], object_id, control_body().get("age_seconds", 0))
    return Response(status=204)


@control.get("/servers/<int:server_id>/health")
def server_health(server_id):
    state = _part("state")
    state.advance()
    status, text = state.health(server_id)
    return Response(text, status=status, mimetype="text/plain")
