"""The documented API under /api/v1/: one small function per endpoint.

Requests are validated here (the 400 bodies a REST framework would give) and
carried out by the state model; nothing here knows about faults or the log.
"""

import json
import re
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, jsonify, request

from .model import DESCRIPTION_MAX_LENGTH, NAME_MAX_LENGTH, SimError

API = "/api/v1"
SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9_-]+$")

api = Blueprint("api", __name__, url_prefix=API)


def sim_state():
    return current_app.extensions["vpsorg_sim"]["state"]


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


# ------------------------------------------------------------------ endpoints


@api.get("/backups/")
def list_backups():
    backup_type = request.args.get("backup_type") or None
    if backup_type not in (None, "manual", "automatic"):
        raise SimError(400, {"backup_type": ['"%s" is not a valid choice.' % backup_type]})
    items = sim_state().list_backups(_query_int("server_id"), backup_type, sim_state().next_replica())
    return jsonify(_page(items, sim_state().config["page_size"]))


@api.post("/backups/")
def create_backup():
    body, errors = _json_body(), {}
    server_id = _integer(body, "server_id", errors)
    description = _string(body, "description", errors, DESCRIPTION_MAX_LENGTH)
    _raise_errors(errors)
    return jsonify(sim_state().create_backup(server_id, description)), 201


@api.delete("/backups/<int:backup_id>/")
def delete_backup(backup_id):
    sim_state().delete_backup(backup_id)
    return Response(status=204)


@api.post("/servers/<int:server_id>/restore/")
def restore_backup(server_id):
    body, errors = _json_body(), {}
    backup_id = _integer(body, "backup_id", errors)
    _raise_errors(errors)
    return jsonify(sim_state().restore_backup(server_id, backup_id)), 200


@api.get("/servers/<int:server_id>/")
def get_server(server_id):
    return jsonify(sim_state().server_view(server_id))

# ------------------------------------------------------------ snapshots


@api.get("/snapshots/")
def list_snapshots():
    items = sim_state().list_snapshots(_query_int("server_id"), sim_state().next_replica())
    return jsonify(_page(items, sim_state().config["page_size"]))


@api.post("/snapshots/")
def create_snapshot():
    body, errors = _json_body(), {}
    server_id = _integer(body, "server_id", errors)
    name = _string(body, "name", errors, NAME_MAX_LENGTH, required=True, pattern=SNAPSHOT_NAME)
    description = _string(body, "description", errors, DESCRIPTION_MAX_LENGTH)
    _raise_errors(errors)
    return jsonify(sim_state().create_snapshot(server_id, name, description)), 201


@api.post("/snapshots/<int:snapshot_id>/restore/")
def restore_snapshot(snapshot_id):
    return jsonify(sim_state().restore_snapshot(snapshot_id)), 200


@api.delete("/snapshots/<int:snapshot_id>/")
def delete_snapshot(snapshot_id):
    sim_state().delete_snapshot(snapshot_id)
    return Response(status=204)
