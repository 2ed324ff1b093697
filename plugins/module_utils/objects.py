# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the API's objects say of themselves: when they were made, their order, their server.

Plain functions with no import beyond the standard library: the role's
filters use them in every worker Ansible forks, where importing the client
(and requests with it) would cost each worker a tenth of a second.
"""

from __future__ import annotations

import calendar
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Dict, Iterable

    # An object as the API answers it (a snapshot, a backup, a server): its decoded JSON.
    ApiObject = Dict[str, Any]

_TIMESTAMP = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def created_epoch(obj: ApiObject) -> float | None:
    """Seconds since the epoch (UTC) of ``created_at``, or None when it cannot be read.

    Inferred: the API writes ISO 8601 in UTC with a ``Z``; an explicit offset is
    honoured and a timestamp without zone is taken as UTC.
    """
    match = _TIMESTAMP.match(str(obj.get("created_at") or "").strip())
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        epoch: float = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    fraction, zone = match.group(7), match.group(8)
    if fraction:
        epoch += float(fraction)
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        epoch -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return epoch


def created_key(obj: ApiObject) -> tuple[float, int]:
    """Sort key: creation time, then id (inferred: ids grow with time) for ties.

    The same reading of ``created_at`` as ages (created_epoch), so order and
    age never disagree; an unreadable time sorts first.
    """
    epoch = created_epoch(obj)
    object_id = obj.get("id")
    return (float("-inf") if epoch is None else epoch), (object_id if isinstance(object_id, int) else 0)


def newest_first(objects: Iterable[ApiObject]) -> list[ApiObject]:
    return sorted(objects, key=created_key, reverse=True)


def given_server_id(value: Any) -> int | None:
    """A server id as an inventory or a user gives it (12, "12", " 12 "), or None when it names no server: not a
    positive whole number (a bool, 0, 3.7 or "web" is no id; a float is not cut down to one)."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def server_id_of(obj: ApiObject) -> int | None:
    """The id of the server an object belongs to (``server`` is a nested object)."""
    server = obj.get("server")
    if isinstance(server, dict):
        return server.get("id")
    # Inferred: tolerate an API that flattens it to ``server_id`` or a bare id.
    return obj.get("server_id", server)
