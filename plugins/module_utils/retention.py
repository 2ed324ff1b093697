# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Retention: which objects of a prefix rotation deletes (keep N, a maximum age), and which one can be reused.

Pure functions of the objects and the controller's clock, so every rule can
be tested on its own. Ages come from the API's ``created_at`` against the
controller's clock in UTC; an object whose age cannot be told (no readable
``created_at``, or one in the future) is never deleted for its age.
"""

from __future__ import annotations

import re
import time
from collections import namedtuple
from typing import TYPE_CHECKING

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import created_epoch, created_key

if TYPE_CHECKING:
    from typing import Any, Iterable, Sized

    from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import ApiObject

COMPLETED = "completed"

_DURATION_PART = re.compile(r"(\d+)\s*([smhdw])")
_DURATION = re.compile(r"^\s*(\d+\s*[smhdw]\s*)+$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

RotationPlan = namedtuple("RotationPlan", ["victims", "blockers", "reasons", "ageless", "held"])
RotationPlan.__doc__ = """What rotation deletes and why.

``victims`` oldest first; ``blockers`` the objects in the way when the new one
would not fit under the limit; ``reasons`` maps a victim's id to why it goes;
``ageless`` the objects of the prefix whose age could not be told; ``held``
the ones rotation would have deleted but whose hold has not run out.
"""

# A hold, written into an object's description when it is created (the role
# patch_with_rollback with cleanup hold): "hold=<seconds>s". It runs from the
# object's created_at, on the API's clock, so it ends when its age says so.
_HOLD = re.compile(r"\bhold=(\d+)s\b")
HOLD_MARGIN = 600


def parse_duration(text: object) -> int:
    """Seconds in a readable duration such as ``36h``, ``14d``, ``2w`` or ``1d12h``; ValueError otherwise."""
    if not isinstance(text, str) or not _DURATION.match(text):
        raise ValueError(f"{text!r} is not a duration: use a number and a unit (s, m, h, d or w), for example 36h, "
                         "14d or 2w, or several of them such as 1d12h")
    seconds = sum(int(number) * UNIT_SECONDS[unit] for number, unit in _DURATION_PART.findall(text))
    if seconds <= 0:
        raise ValueError(f"{text!r} is not a duration longer than zero")
    return seconds


def age_of(obj: ApiObject, now: float) -> float | None:
    """Seconds since ``obj`` was created, or None when that cannot be told (unreadable, or in the future)."""
    epoch = created_epoch(obj)
    if epoch is None or epoch > now:
        return None
    return now - epoch


def hold_seconds(obj: ApiObject) -> int | None:
    """The hold written in ``obj``'s description, in seconds, or None when it has none."""
    match = _HOLD.search(str(obj.get("description") or ""))
    return int(match.group(1)) if match else None


def held(obj: ApiObject, now: float) -> bool:
    """Whether ``obj`` is under a hold that has not run out; one whose age cannot be told is, when in doubt.

    A hold runs on the API's clock and is compared with this controller's: it ends HOLD_MARGIN seconds late, so
    that a controller clock running a little fast does not end holds early.
    """
    seconds = hold_seconds(obj)
    if seconds is None:
        return False
    epoch = created_epoch(obj)
    return epoch is None or epoch + seconds + HOLD_MARGIN > now


def in_prefix(obj: ApiObject, key_field: str, prefix: str) -> bool:
    return str(obj.get(key_field) or "").startswith(prefix)


def plan_rotation(existing: Iterable[ApiObject], key_field: str, limit: int, new_key: str | None,
                  prefix: str | None = None, keep: int | None = None, max_age: int | None = None,
                  now: float | None = None, max_age_text: str | None = None) -> RotationPlan:
    """What rotation deletes around one more object (or none: ``new_key`` None), and whether it will fit.

    ``existing`` are the objects counting towards ``limit``, the new or kept
    one excluded. Among those whose key starts with ``prefix``: the ones
    beyond the newest ``keep`` (the new one counted first) and the ones older
    than ``max_age`` seconds are the victims, oldest first. Nothing outside
    the prefix, nothing that is not completed, nothing whose age cannot be
    told (for ``max_age``) and nothing under a hold (see ``held``) is ever a
    victim.
    """
    now = time.time() if now is None else now
    ordered = sorted(existing, key=created_key)
    reasons: dict[Any, list[str]] = {}
    ageless: list[ApiObject] = []
    if prefix is not None:
        rotating = [o for o in ordered if in_prefix(o, key_field, prefix)]
        if keep is not None:
            new_counts = 1 if new_key is not None and new_key.startswith(prefix) else 0
            excess = len(rotating) + new_counts - keep
            for obj in rotating[:max(0, excess)]:
                reasons.setdefault(obj.get("id"), []).append("beyond the newest %d" % keep)
        if max_age is not None:
            for obj in rotating:
                age = age_of(obj, now)
                if age is None:
                    ageless.append(obj)
                elif age > max_age:
                    reasons.setdefault(obj.get("id"), []).append("older than %s" % (max_age_text or "%d s" % max_age))
    candidates = [o for o in ordered if o.get("id") in reasons and o.get("status") == COMPLETED]
    victims = [o for o in candidates if not held(o, now)]
    victim_ids = set(o.get("id") for o in victims)
    remaining = [o for o in ordered if o.get("id") not in victim_ids]
    blockers = remaining if new_key is not None and len(remaining) + 1 > limit else []
    return RotationPlan(victims, blockers, dict((i, ", ".join(r)) for i, r in reasons.items() if i in victim_ids),
                        [o for o in ageless if o.get("status") == COMPLETED],
                        [o for o in candidates if o.get("id") not in victim_ids])


def newest_reusable(objects: Iterable[ApiObject], key_field: str, prefix: str, within: int,
                    now: float) -> ApiObject | None:
    """The newest completed object of the prefix if it is at most ``within`` seconds old, else None.

    Always the newest, never the oldest: reuse means "one recent enough
    exists". A ``created_at`` slightly in the future (clock skew) counts as
    just made; an unreadable one makes the object unusable for reuse.
    """
    candidates = [o for o in objects if in_prefix(o, key_field, prefix) and o.get("status") == COMPLETED]
    if not candidates:
        return None
    newest = max(candidates, key=created_key)
    epoch = created_epoch(newest)
    if epoch is None:
        return None
    return newest if now - epoch <= within else None


def deletes_needed_first(existing: Sized, limit: int) -> int:
    """How many objects must go before one more fits under the limit."""
    return max(0, len(existing) + 1 - limit)
