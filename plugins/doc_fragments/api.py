# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # Connection options shared by every module (see module_utils/base.py).
    DOCUMENTATION = r"""
options:
  api_token:
    description:
      - The VPS.org API token, sent as a bearer token.
      - If not set, the value of the E(VPSORG_API_TOKEN) environment variable is used.
        One of the two is required.
      - It is never logged nor returned.
    type: str
  api_url:
    description:
      - Base URL of the VPS.org API.
      - If not set, the value of the E(VPSORG_API_URL) environment variable is used.
      - Plain C(http://) is only accepted for a loopback address (for example the simulator), so the
        token never travels unencrypted.
    type: str
    default: https://admin.vps.org/api/v1
  validate_certs:
    description:
      - Whether to verify the API's TLS certificate.
      - If not set, the value of the E(VPSORG_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  api_timeout:
    description:
      - Seconds to wait for one HTTP answer.
      - If not set, the value of the E(VPSORG_API_TIMEOUT) environment variable is used.
    type: int
    default: 30
  api_retries:
    description:
      - How many times a request is sent again after HTTP 500, 502, 503, 504 or a connection error.
      - After HTTP 429 (the API refused the request without acting on it, asking to come back later), up to
        twice as many times, counted apart from the errors.
      - A create or a restore (POST) is sent again at once only after a 429 or when it provably never
        reached the API; after a 5xx or a lost answer the module first looks whether it was carried out,
        so a lost answer never makes a duplicate nor a second restore.
      - If not set, the value of the E(VPSORG_API_RETRIES) environment variable is used.
    type: int
    default: 5
  api_retry_max_delay:
    description:
      - The longest pause in seconds between two attempts (exponential backoff with jitter,
        or the API's C(Retry-After) header, capped by this value).
      - If not set, the value of the E(VPSORG_API_RETRY_MAX_DELAY) environment variable is used.
    type: int
    default: 30
  api_concurrency:
    description:
      - The most HTTP requests a task may have in flight together. A task of vpsorg_snapshot or vpsorg_backup with C(server_ids) sends its creates
        (and the reads that check a create whose answer was lost) from this many threads at once; every other
        request is sent one at a time.
      - Each HTTP 429 answer halves the number for the rest of the task (down to 1), and no request starts before
        the C(Retry-After) the API asked for; each run of twice as many answers as this value without a 429 lets one more in
        again, up to this value.
      - Set V(1) to send every request one after the other.
      - If not set, the value of the E(VPSORG_API_CONCURRENCY) environment variable is used.
    type: int
    default: 8
requirements:
  - requests
notes:
  - All modules of this collection are in the action group C(vpsorg.cloud.vpsorg), so the connection
    options can be set once with C(module_defaults) and C(group/vpsorg.cloud.vpsorg).
"""

    WAIT = r"""
options:
  wait:
    description:
      - Wait until the operation has finished on the API side.
      - Polls come 2, 6, 14 and 30 seconds after the operation was seen in progress, then every 30 seconds
        (23 polls for a 10-minute operation, which is noticed at most 30 seconds late). A failed poll
        (HTTP 429 or 5xx, a lost connection) does not end the wait; the next poll tries again
        until O(wait_timeout).
    type: bool
    default: true
"""

    # Retention for the keyed, rotatable modules (vpsorg_snapshot, vpsorg_backup). "Objects" are that module's
    # snapshots or manual backups, and their key is the snapshot's name or the backup's description.
    RETENTION = r"""
options:
  rotate:
    description:
      - Retention for the objects whose key (a snapshot's name, a manual backup's description) starts with
        O(rotate.prefix) on the server. Objects of the prefix beyond the newest O(rotate.keep), and those older than
        O(rotate.max_age), are deleted; nothing outside the prefix, no automatic backup and nothing that is not
        C(completed) is ever deleted.
      - With O(state=present), old objects are deleted only once the new (or existing) one is C(completed), so rotation
        never costs a restore point when the limit leaves room. When the server is at its limit, the oldest victims
        needed to make room are deleted before the create, and the result says so with RV(deleted_before_create=true).
        With O(wait=false) the new object is still in progress, so the deletions wait for a later run of the same task.
      - With O(state=absent) and O(server_id) only, the task prunes the server by these rules and creates nothing.
      - If the server would still be at its limit, the task fails before creating or deleting anything and names the
        objects in the way.
      - Ages are computed from the API's C(created_at) against the controller's clock in UTC. An object whose
        C(created_at) is in the future or cannot be read is never deleted for its age, and a warning says so.
      - An object whose description holds a hold, C(hold=<seconds>s) (the role C(vpsorg.cloud.patch_with_rollback)
        writes one with C(patch_with_rollback_cleanup=hold)), is not deleted until that many seconds have passed since
        its C(created_at); a warning names it. A held object still counts against the server's limit.
    type: dict
    suboptions:
      prefix:
        description: Key prefix of the objects this rotation owns; it must not be empty.
        type: str
        required: true
      keep:
        description:
          - How many objects of the prefix to keep, newest first, the new one included (1 to the API's limit).
          - At least one of O(rotate.keep) and O(rotate.max_age) is required.
        type: int
      max_age:
        description:
          - Delete objects of the prefix older than this, for example V(36h), V(14d), V(2w) or V(1d12h)
            (units s, m, h, d, w).
        type: str
  reuse_within:
    description:
      - When the newest C(completed) object of O(rotate.prefix) on the server is younger than this duration
        (for example V(23h)), return it with C(changed=false) instead of creating another. It is compared against the
        newest object, never the oldest. Needs O(rotate).
      - This makes a "daily" task safe to run every hour.
    type: str
"""

    ACTIONS = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  action_group:
    description: Use C(group/vpsorg.cloud.vpsorg) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vpsorg.cloud.vpsorg
"""

    INFO = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
    details: This module never changes anything.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: N/A
    details: This module never changes anything.
  action_group:
    description: Use C(group/vpsorg.cloud.vpsorg) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vpsorg.cloud.vpsorg
"""
