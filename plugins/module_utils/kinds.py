# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What each resource kind of the API is, declared once, and the lookups every module shares.

The action modules, the info modules and the restore module all read these
declarations; none of them builds a path of its own. Adding a kind (say,
volumes) means one :class:`Kind` here, a thin module, a simulator entity and
a test target.
"""

from __future__ import annotations

from collections import namedtuple
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import server_id_of
from ansible_collections.vpsorg.cloud.plugins.module_utils.client import TornListError, VpsorgApiError

if TYPE_CHECKING:
    from typing import Any, Callable, Dict, Iterable, Optional, Tuple

    from ansible_collections.vpsorg.cloud.plugins.module_utils.client import VpsorgClient
    from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import ApiObject

    # The request that restores a server from one object: (path, JSON body or None).
    Restorer = Callable[[ApiObject, int], Tuple[str, Optional[Dict[str, Any]]]]

# Passes an account-wide listing gets before a read of several servers turns
# to one filtered listing per server: three rhythms (see page_repeats).
ACCOUNT_WIDE_PASSES = 3


def is_manual(backup: ApiObject) -> bool:
    return backup.get("backup_type") == "manual"


def _everything(_obj: ApiObject) -> bool:
    return True


class Kind(namedtuple("Kind", "name path key_field limit limit_label in_scope restore own_server_only")):
    """One resource kind: where it lives, what identifies it, its limit, how it restores a server.

    ``in_scope`` tells the objects that count towards ``limit`` and can match
    a key (automatic backups, for instance, do neither). ``restore`` builds the
    request that restores a server from one object, or is None when the kind
    cannot be restored from. ``own_server_only`` is true when an object can
    only restore the server it belongs to. A declaration never changes, so it
    is a tuple.
    """

    __slots__ = ()

    def __new__(cls, name: str, path: str, key_field: str, limit: int, limit_label: str,
                in_scope: Callable[[ApiObject], bool] = _everything, restore: Restorer | None = None,
                own_server_only: bool = True) -> Kind:
        return super(Kind, cls).__new__(cls, name, path, key_field, limit, limit_label, in_scope, restore,
                                        own_server_only)

    @property
    def plural(self) -> str:
        return self.name + "s"

    @property
    def id_option(self) -> str:
        return self.name + "_id"

    def object_path(self, object_id: int) -> str:
        return "%s%d/" % (self.path, object_id)


def _restore_from_snapshot(snapshot: ApiObject, _server_id: int) -> tuple[str, dict[str, Any] | None]:
    return "/snapshots/%d/restore/" % snapshot["id"], None


def _restore_from_backup(backup: ApiObject, server_id: int) -> tuple[str, dict[str, Any] | None]:
    return "/servers/%d/restore/" % server_id, {"backup_id": backup["id"]}


SNAPSHOT = Kind("snapshot", "/snapshots/", "name", 5, "snapshots", restore=_restore_from_snapshot)
# Only manual backups count towards the limit of 10; automatic ones follow the provider's retention.
BACKUP = Kind("backup", "/backups/", "description", 10, "manual backups", in_scope=is_manual,
              restore=_restore_from_backup, own_server_only=False)
RESTORABLE = {SNAPSHOT.name: SNAPSHOT, BACKUP.name: BACKUP}


def server_path(server_id: int) -> str:
    """Inferred endpoint: GET /servers/{id}/ answers at least id, name and status."""
    return "/servers/%d/" % server_id


class Lookup:
    """Reads of one kind through the client: every answer comes from a consistent list."""

    def __init__(self, client: VpsorgClient, kind: Kind) -> None:
        self.client = client
        self.kind = kind
        # Set once an account-wide listing did not settle: the rest of the task reads server by server.
        self.per_server = False
        # Requests one pass over the account's listing takes (from its first page), once known.
        self.account_pages: int | None = None
        # How each read of several servers was made, for the result.
        self.choices: list[dict[str, Any]] = []

    def on_server(self, server_id: int) -> list[ApiObject]:
        """All objects of one server (the filter is applied again: an API may ignore it)."""
        return [o for o in self.client.list(self.kind.path, {"server_id": server_id}) if server_id_of(o) == server_id]

    def on_servers(self, server_ids: list[int]) -> dict[int, list[ApiObject]]:
        """{server_id: its objects} for several servers: one account-wide listing, or one small one per server.

        Whichever costs fewer requests: the first page of the account's
        listing tells how many pages the whole of it takes (its ``count``),
        against one filtered listing per server. A big account read for a
        few servers goes server by server; a fleet that is most of the
        account reads it whole. The first page is the whole listing when the
        account fits in it. The choice is made again at every read (a wait
        polls fewer servers as they finish), from the size first seen, and
        recorded in ``choices``.

        The longer a list, the more pages a moving order can tear too: when
        the account-wide listing does not settle within ACCOUNT_WIDE_PASSES,
        each server is listed on its own for the rest of the task.
        """
        if self.account_pages is None and not self.per_server:
            objects = self.measure_account()
            if objects is not None:
                self.choices.append({"servers": len(server_ids), "read": "account", "requests": 1})
                return self.by_server(objects, server_ids)
        if not self.per_server and (self.account_pages is None or self.account_pages <= len(server_ids)):
            try:
                grouped = self.by_server(self.client.list(self.kind.path, passes=ACCOUNT_WIDE_PASSES), server_ids)
            except TornListError:
                self.per_server = True
            else:
                self.choices.append({"servers": len(server_ids), "read": "account", "account_pages": self.account_pages})
                return grouped
        self.choices.append({"servers": len(server_ids), "read": "per_server", "account_pages": self.account_pages})
        return self.each_server(server_ids)

    def measure_account(self) -> list[ApiObject] | None:
        """Read the first page of the account's listing: its objects when it is all of them, else None.

        Sets ``account_pages``, how many requests one pass over the account takes.
        """
        objects, count, more = self.client.first_page(self.kind.path)
        if not more and (count is None or count == len(objects)):
            self.account_pages = 1
            return objects
        if count is None or not objects:
            self.account_pages = 0  # cannot tell: read the account as before
            return None
        self.account_pages = -(-count // len(objects))
        return None

    def each_server(self, server_ids: list[int]) -> dict[int, list[ApiObject]]:
        """One filtered listing per server, up to the client's concurrency of them at once."""
        workers = min(len(server_ids), getattr(self.client, "concurrency", 1))
        if workers <= 1:
            return dict((server_id, self.on_server(server_id)) for server_id in server_ids)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            found = list(pool.map(self.on_server, server_ids))
        return dict(zip(server_ids, found))

    @staticmethod
    def by_server(objects: Iterable[ApiObject], server_ids: Iterable[int]) -> dict[int, list[ApiObject]]:
        """The objects of each of ``server_ids``, from a listing of the account."""
        grouped: dict[Any, list[ApiObject]] = dict((server_id, []) for server_id in server_ids)
        for obj in objects:
            if server_id_of(obj) in grouped:
                grouped[server_id_of(obj)].append(obj)
        return grouped

    def everywhere(self, params: dict[str, Any] | None = None) -> list[ApiObject]:
        return self.client.list(self.kind.path, params)

    def by_id(self, object_id: int, server_id: int | None = None) -> ApiObject | None:
        objects = self.on_server(server_id) if server_id else self.everywhere()
        return next((o for o in objects if o.get("id") == object_id), None)

    def keyed(self, objects: Iterable[ApiObject], key: str | None) -> list[ApiObject]:
        """The objects among ``objects`` that ``key`` names (normally none or one)."""
        return [o for o in objects if self.kind.in_scope(o) and o.get(self.kind.key_field) == key]

    def delete(self, object_id: int) -> str:
        """DELETE one object: client.DELETED, DELETED_ANSWER_LOST or ALREADY_GONE."""
        return self.client.delete(self.kind.object_path(object_id), missing_ok=True)


class Servers:
    """Reads of servers through the client."""

    def __init__(self, client: VpsorgClient) -> None:
        self.client = client

    def get(self, server_id: int) -> ApiObject:
        """One server; a 404 says plainly that it does not exist (or the token cannot see it)."""
        try:
            return self.client.get(server_path(server_id))
        except VpsorgApiError as exc:
            if not exc.missing:
                raise
            raise VpsorgApiError(f"Server {server_id} does not exist, or this API token cannot see it.",
                                 method=exc.method, path=exc.path, status=exc.status, body=exc.body)
