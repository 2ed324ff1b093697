# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one HTTP client of the collection: auth, retries, pagination, waiting, errors.

Modules never build URLs or parse error bodies; they call this client and
catch :class:`VpsorgApiError`, the only error type it raises.
"""

from __future__ import annotations

import email.utils
import http.client
import ipaddress
import random
import socket
import ssl
import threading
import time
import traceback
from typing import TYPE_CHECKING

try:
    import requests
    import requests.exceptions
    from urllib3.exceptions import NewConnectionError
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from urllib.parse import urljoin, urlsplit

if TYPE_CHECKING:
    # typing's Dict and List, not dict and list: inside VpsorgClient, ``list`` names a method.
    from typing import Any, Callable, Dict, Hashable, Iterable, Iterator, List, Optional, Tuple, TypeVar

    from ansible_collections.vpsorg.cloud.plugins.module_utils.objects import ApiObject

    # What a wait polls for: an object, a server, the targets still pending.
    Polled = TypeVar("Polled")
    # Query parameters of a request.
    Params = Optional[Dict[str, Any]]

COLLECTION_VERSION = "2.0.0"
USER_AGENT = f"ansible-vpsorg.cloud/{COLLECTION_VERSION}"

# 429 means the API refused the request without acting on it (RFC 6585), so
# even a POST may be sent again. A 5xx may come from the API or a proxy after
# the API acted, so an idempotent request is simply sent again, while for a
# POST it only tells the caller to look before sending it again.
THROTTLED = 429
SERVER_ERRORS = (500, 502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "HEAD", "DELETE")

# A paged read is torn when the list changed between two page requests (the
# order is not documented and moves when a row is updated, or the pages come
# from replicas that take turns). Reading again and combining the passes
# settles it; this bounds how often before giving up.
LIST_PASSES = 10

# What a DELETE came to (see VpsorgClient.delete).
DELETED = "deleted"
DELETED_ANSWER_LOST = "deleted, answer lost"  # an earlier attempt was carried out; its retry found it gone
ALREADY_GONE = "already gone"                # the first answer said it did not exist: not this task's delete


def page_repeats(number: int) -> int:
    """How many times in a row each page is read in pass ``number`` (0, 1, 2, ...): 1, 2, 3, 1, 2, 3, ...

    Replicas behind a round-robin balancer answer list requests in turn, each
    in its own order. A pass that requests its pages in the same rhythm as
    the pass before takes every page from the same replica as before, so the
    passes never add up, however many there are. Reading each page twice in
    a row takes it from two replicas that alternate, three times from three;
    within three passes each page has come from each of them, whatever the
    number of pages. Against an order that moves at random it only reads
    more, and the view is whole as soon as it is (the read stops there).
    """
    return 1 + number % 3


class VpsorgApiError(Exception):
    """Every failure of an API call, a wait or a response we cannot read.

    The base class is an error the API answered (``reason`` ``http``); each
    other kind of failure is a subclass, which callers catch by its class:
    WrongUrlError, NoAnswerError, UnreadableAnswerError, TornListError,
    InvalidRequestError, WaitTimeoutError and WaitGoneError. ``reason``
    names the kind in a module's result (``api_error``), for playbooks
    that act on it. ``maybe_committed`` is true for a
    change whose answer was lost: the API may have acted on it, so the
    caller must look before sending a POST again, and a DELETE whose retry
    found the object gone was probably carried out by an earlier attempt.
    ``last_object`` is the last object a wait saw. The message never holds
    the token.
    """

    REASON = "http"
    # Whether the same request may well succeed later, whatever the status.
    TRANSIENT = False

    def __init__(self, message: str, method: str | None = None, path: str | None = None, status: int | None = None,
                 body: Any = None, maybe_committed: bool = False, last_object: ApiObject | None = None) -> None:
        super(VpsorgApiError, self).__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.reason = self.REASON
        self.body = body
        self.maybe_committed = maybe_committed
        self.last_object = last_object

    @property
    def missing(self) -> bool:
        """True when the API itself said that the object (or server) does not exist."""
        return self.status == 404 and not isinstance(self, WrongUrlError)

    @property
    def transient(self) -> bool:
        """True when the same request may well succeed later: worth another try in a wait."""
        return self.TRANSIENT or self.status == THROTTLED or self.status in SERVER_ERRORS

    def to_dict(self) -> Dict[str, Any]:
        """What a module puts under ``api_error`` in a failure result."""
        return {
            "status": self.status,
            "method": self.method,
            "path": self.path,
            "reason": self.reason,
            "message": self.message,
            # The API's own error body when it was JSON ({"name": ["..."]}), for tasks that act on a field.
            "body": self.body,
        }


class WrongUrlError(VpsorgApiError):
    """Something that is not the API answered: the path does not exist there (api_url is wrong)."""

    REASON = "wrong_url"


class NoAnswerError(VpsorgApiError):
    """The request got no answer (connection refused, reset, timed out)."""

    REASON = "connection"
    TRANSIENT = True


class UnreadableAnswerError(VpsorgApiError):
    """An answer that cannot be read: not JSON, or not the shape the contract gives it."""

    REASON = "invalid_response"
    TRANSIENT = True


class TornListError(VpsorgApiError):
    """A list kept changing while it was read: no pass saw every object it counts."""

    REASON = "torn_list"
    TRANSIENT = True


class InvalidRequestError(VpsorgApiError):
    """Options that cannot make a request, found before any was sent."""

    REASON = "invalid_request"


class WaitTimeoutError(VpsorgApiError):
    """A wait ran out of time; ``last_object`` is what it saw last."""

    REASON = "wait_timeout"


class WaitGoneError(VpsorgApiError):
    """The object waited for disappeared."""

    REASON = "wait_gone"


def error_text(body: Any, raw_text: str | None) -> str:
    """The API's own words from an error body: ``detail``, field errors, or raw text.

    Inferred: the documentation shows no error body; we expect the usual REST
    framework shapes ({"detail": ...} or {"field": ["message"]}) and fall back
    to the raw text for anything else (an HTML page from a proxy, say).
    """
    if isinstance(body, dict):
        if isinstance(body.get("detail"), str):
            return body["detail"]
        parts = []
        for field, problems in sorted(body.items()):
            if isinstance(problems, list):
                problems = " ".join(str(p) for p in problems)
            parts.append(f"{field}: {problems}")
        if parts:
            return "; ".join(parts)
    if isinstance(body, list) and body:
        return "; ".join(str(item) for item in body)
    text = " ".join((raw_text or "").split())
    return text[:300] + ("..." if len(text) > 300 else "") if text else "(empty body)"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Backoff:
    """A delay that grows from ``first`` by ``growth`` up to ``cap``, shortened by jitter.

    Jitter only ever shortens a delay (by up to ``spread`` of it; ``jitter()``
    of 1.0 keeps it whole), so many clients do not hit the API in step and no
    retry or poll comes later than its schedule.
    """

    def __init__(self, first: float, growth: float, cap: float, spread: float,
                 jitter: Callable[[], float] = random.random) -> None:
        self.first = float(first)
        self.growth = float(growth)
        self.cap = float(cap)
        self.spread = float(spread)
        self.jitter = jitter

    def delay(self, attempt: int) -> float:
        # The exponent is bounded: long waits reach the cap long before a float overflows.
        ceiling = min(self.cap, self.first * (self.growth ** min(attempt, 64)))
        return ceiling * (1.0 - self.spread * (1.0 - self.jitter()))


# Retries and polls share one Backoff curve, doubling up to a cap, with their
# own parameters. A retry answers a fault that usually clears within seconds:
# from 1 s up to api_retry_max_delay, with jitter so clients do not retry in
# step. A poll watches an operation the API documents as taking 3 to 15
# minutes: at 2, 6, 14 and 30 s after it was seen running, then every 30 s.
# A 60 s operation is seen at once, a 600 s one with 23 polls, and none is
# seen more than 30 s late. Polls have no jitter: the tasks of a fleet
# already poll out of step, since each starts when its create is answered.
POLL_BACKOFF = dict(first=2.0, growth=2.0, cap=30.0, spread=0.0)


class Pace:
    """When the operations of one task should end, learned from those seen ending.

    A task that starts many operations at once (server_ids) sees them end
    within about its creates' spread of one another: they are of one kind,
    started by one request each, seconds apart. Inferred, not documented:
    the documented objects carry no time of completion (only created_at), so
    a duration is known only from this task's own polls. An operation seen
    completed at a poll took at most the time from its start to that poll;
    the shortest such bound is the pace. Those still running should then
    end by their own start plus the pace, and one poll at the latest of
    those moments (plus ``margin``) sees them, where the backoff alone could
    look up to 30 s later. An operation overdue against the pace is left to
    the backoff, so this adds at most a poll or two to a task's budget.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, margin: float = 1.0) -> None:
        self.clock = clock
        self.margin = margin
        self.duration: float | None = None
        self.started: Dict[Hashable, float] = {}  # key -> when its operation was started (the create's answer)

    def start(self, key: Hashable) -> None:
        self.started[key] = self.clock()

    def ended(self, key: Hashable) -> None:
        """``key`` was seen completed just now."""
        if key in self.started:
            took = self.clock() - self.started[key]
            self.duration = took if self.duration is None else min(self.duration, took)

    def due(self, pending: Iterable[Hashable]) -> float | None:
        """Seconds until every one of ``pending`` should have ended, or None when the pace says nothing of them."""
        if self.duration is None:
            return None
        ends = [self.started[key] + self.duration for key in pending if key in self.started]
        now = self.clock()
        upcoming = [end for end in ends if end > now]
        if not upcoming:
            return None
        return max(upcoming) - now + self.margin


class RetryPolicy:
    """How often, and after how long, a request is sent again.

    ``retries`` bounds the retries after an error (a 5xx, no answer). A 429
    is not an error but the API asking to come back later, having done
    nothing: under load it can come several times in a row for a request
    that then succeeds, so 429s have a budget of their own, twice as large.
    """

    def __init__(self, retries: int = 5, max_delay: float = 30.0, base_delay: float = 1.0,
                 jitter: Callable[[], float] = random.random) -> None:
        self.retries = max(0, int(retries))
        self.throttled_retries = 2 * self.retries
        self.max_delay = float(max_delay)
        self.backoff = Backoff(first=base_delay, growth=2.0, cap=max_delay, spread=0.5, jitter=jitter)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """The backoff for ``attempt``; a server's ``Retry-After`` wins (capped)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return self.backoff.delay(attempt)


class Gate:
    """How many requests of the client may be in flight at once: ``most``, halved by each 429.

    A fleet sends its creates from a few threads at once; every attempt of
    every request passes this gate, so the API never sees more than
    ``limit`` of them together. A 429 says the API is loaded: the limit
    halves (down to one), and no request starts before the ``Retry-After``
    it asked for. Each run of ``2 * most`` answers without a 429 lets one
    more in again, up to ``most``: slowly, since the API just said it was
    loaded.
    """

    def __init__(self, most: int, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.most = max(1, int(most))
        self.limit = self.most
        self.in_flight = 0
        self.sleep = sleep
        self.clock = clock
        self.quiet_until = None
        self.answered = 0
        self.turn = threading.Condition()

    def enter(self) -> None:
        with self.turn:
            quiet = None if self.quiet_until is None else self.quiet_until - self.clock()
        if quiet is not None and quiet > 0:
            self.sleep(quiet)
        with self.turn:
            while self.in_flight >= self.limit:
                self.turn.wait()
            self.in_flight += 1

    def leave(self, throttled: bool = False, retry_after: float | None = None) -> None:
        with self.turn:
            self.in_flight -= 1
            if throttled:
                self.limit = max(1, self.limit // 2)
                self.answered = 0
                if retry_after:
                    self.quiet_until = max(self.quiet_until or 0.0, self.clock() + retry_after)
            else:
                self.answered += 1
                if self.limit < self.most and self.answered >= 2 * self.most:
                    self.limit += 1
                    self.answered = 0
            self.turn.notify_all()


class Deadline:
    """One time budget shared by every wait of a task."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.seconds = seconds
        self.started = clock()

    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.started)


def _causes(exc: BaseException) -> List[BaseException]:
    """``exc`` and what it wraps (requests wraps urllib3, which wraps the socket's error), outermost first."""
    found, pending = [], [exc]
    while pending and len(found) < 12:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or any(current is f for f in found):
            continue
        found.append(current)
        pending += [getattr(current, "reason", None), current.__cause__, current.__context__]
        pending += [arg for arg in current.args if isinstance(arg, BaseException)]
    return found


def why_no_answer(exc: BaseException, timeout: float) -> str:
    """What went wrong when the API gave no answer, in words a user can act on."""
    causes = _causes(exc)

    def among(*types: type) -> bool:
        return any(isinstance(c, types) for c in causes)

    if isinstance(exc, requests.exceptions.SSLError) or among(ssl.SSLError):
        detail = next((str(c) for c in causes if isinstance(c, ssl.SSLError)), str(exc))
        return (f"the TLS handshake failed ({detail}); check that api_url is the API's https:// address, and "
                "validate_certs or the CA certificates of this host")
    if among(socket.gaierror) or any(type(c).__name__ == "NameResolutionError" for c in causes):
        return "the host name does not resolve (DNS); check the host in api_url"
    if among(ConnectionRefusedError):
        return "the connection was refused: nothing listens there; check the host and port in api_url"
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return f"the connection timed out after {timeout} s; check api_url and that this host can reach it"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return f"the API did not answer within api_timeout ({timeout} s)"
    if among(ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
        return "the connection was closed before an answer came"
    return f"{type(exc).__name__}: {exc}"


def visible_url(url: str) -> str:
    """``url`` as a message may show it: scheme, host, port and path (no user info, no query)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{host_and_port(url)}{parts.path}"


def host_and_port(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    host = parts.hostname or ""
    return "%s:%d" % ("[%s]" % host if ":" in host else host, port)


def _never_sent(exc: BaseException) -> bool:
    """True when a connection error proves the request never reached the API."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), NewConnectionError)


class VpsorgClient:
    """``requests`` sessions bound to one API URL and token: one per thread, behind one :class:`Gate`.

    A ``requests.Session`` is not documented as safe to share between
    threads, so each thread that sends requests gets its own, configured
    alike; the thread that made the client uses ``session``.
    """

    def __init__(self, api_url: str, api_token: str, validate_certs: bool = True, timeout: float = 30,
                 retry_policy: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep,
                 session: requests.Session | None = None, concurrency: int = 1) -> None:
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidRequestError("api_url must be an http:// or https:// URL such as https://admin.vps.org/api/v1, "
                                      f"got {api_url!r}.")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise InvalidRequestError(
                f"Refusing to send the API token over plain http:// to {parts.hostname}; use https:// "
                "(plain http:// is only allowed to a loopback address such as 127.0.0.1).")
        self.base = api_url.rstrip("/") + "/"
        self.timeout = timeout
        self.retry = retry_policy or RetryPolicy()
        self.sleep = sleep
        self._headers = {
            "Authorization": f"Bearer {api_token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        self._validate_certs = validate_certs
        self._owner = threading.get_ident()
        self._own_session = self._configured(session or requests.Session())
        self._threads = threading.local()
        self._extra_sessions: List[requests.Session] = []
        # How many requests may be in flight together (modules: api_concurrency).
        self.concurrency = max(1, int(concurrency))
        self.gate = Gate(self.concurrency, sleep=sleep)
        self._count_lock = threading.Lock()
        # Requests sent, retries included: modules report it as api_calls.
        self.calls = 0

    def _configured(self, session: requests.Session) -> requests.Session:
        session.verify = self._validate_certs
        session.headers.update(self._headers)
        return session

    @property
    def session(self) -> requests.Session:
        """This thread's session."""
        if threading.get_ident() == self._owner:
            return self._own_session
        session = getattr(self._threads, "session", None)
        if session is None:
            session = self._threads.session = self._configured(requests.Session())
            with self._count_lock:
                self._extra_sessions.append(session)
        return session

    def close(self) -> None:
        """Close the sessions of the worker threads (the owner's stays usable)."""
        with self._count_lock:
            sessions, self._extra_sessions = self._extra_sessions, []
        for session in sessions:
            session.close()

    def _send(self, method: str, url: str, json: Any, params: Params) -> requests.Response:
        """One attempt, through the gate; a 429 shrinks the gate and holds it for its Retry-After."""
        with self._count_lock:
            self.calls += 1
        self.gate.enter()
        response = None
        try:
            response = self.session.request(method, url, json=json, params=params, timeout=self.timeout)
            return response
        finally:
            throttled = response is not None and response.status_code == THROTTLED
            retry_after = parse_retry_after(response.headers.get("Retry-After")) if throttled else None
            self.gate.leave(throttled, None if retry_after is None else min(retry_after, self.retry.max_delay))

    # ------------------------------------------------------------ requests

    def url(self, path: str) -> str:
        """Absolute URL of an API path; every documented path ends with a slash."""
        path = path.lstrip("/")
        if path and not path.endswith("/"):
            path += "/"
        return urljoin(self.base, path)

    def _describe(self, url: str) -> str:
        return urlsplit(url).path

    def request(self, method: str, path: str, json: Any = None, params: Params = None, absolute: bool = False) -> Any:
        """Send one request with the retry policy; return the parsed JSON (or None)."""
        url = path if absolute else self.url(path)
        shown = self._describe(url)
        attempt = 0    # retries after an error
        throttled = 0  # retries after a 429
        # Whether an attempt so far may have been carried out though its answer was lost.
        in_doubt = False
        while True:
            try:
                response = self._send(method, url, json, params)
            except requests.exceptions.RequestException as exc:
                never_sent = _never_sent(exc)
                in_doubt = in_doubt or (method != "GET" and not never_sent)
                error = NoAnswerError(
                    f"{method} {shown} got no answer from the VPS.org API at {host_and_port(url)}: "
                    f"{why_no_answer(exc, self.timeout)}.",
                    method=method, path=shown,
                    maybe_committed=method not in IDEMPOTENT_METHODS and not never_sent)
                if (method in IDEMPOTENT_METHODS or never_sent) and attempt < self.retry.retries:
                    self.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                raise error

            status = response.status_code
            if status < 400:
                return self._parse(response, method, shown)
            in_doubt = in_doubt or (method != "GET" and status in SERVER_ERRORS)
            if status == THROTTLED and throttled < self.retry.throttled_retries:
                self.sleep(self.retry.delay(throttled, parse_retry_after(response.headers.get("Retry-After"))))
                throttled += 1
                continue
            if status in SERVER_ERRORS and method in IDEMPOTENT_METHODS and attempt < self.retry.retries:
                self.sleep(self.retry.delay(attempt))
                attempt += 1
                continue
            raise self._http_error(response, method, url, attempt + throttled, in_doubt)

    def _parse(self, response: requests.Response, method: str, shown: str) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise UnreadableAnswerError(
                "%s %s answered HTTP %d with a body that is not JSON: %s"
                % (method, shown, response.status_code, error_text(None, response.text)),
                method=method, path=shown, status=response.status_code,
                maybe_committed=method not in IDEMPOTENT_METHODS)

    def _http_error(self, response: requests.Response, method: str, url: str, retries_used: int,
                    in_doubt: bool = False) -> VpsorgApiError:
        """The error for an answer >= 400; ``in_doubt``: an earlier attempt of this request may have been carried out."""
        shown = self._describe(url)
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 404 and not isinstance(body, dict):
            return self._wrong_url_error(response, method, url, body)
        detail = error_text(body, response.text)
        message = "%s %s failed with HTTP %d: %s" % (method, shown, response.status_code, detail)
        if retries_used:
            message += " (gave up after %d retries)" % retries_used
        return VpsorgApiError(
            message, method=method, path=shown, status=response.status_code, body=body,
            maybe_committed=(method not in IDEMPOTENT_METHODS and response.status_code in SERVER_ERRORS)
            or (method == "DELETE" and in_doubt))

    def _wrong_url_error(self, response: requests.Response, method: str, url: str, body: Any) -> VpsorgApiError:
        """A 404 that is not the API's: the path itself does not exist, so api_url is wrong.

        Inferred: the API says an object does not exist with a JSON object
        ({"detail": "Not found."}); a path it has no route for gets the web
        server's page (HTML), or something else that is not a JSON object.
        """
        shown = self._describe(url)
        return WrongUrlError(
            "%s %s answered HTTP 404 with something that is not the VPS.org API's answer (%s): the path does not "
            "exist there. Check api_url (now %s); the API's address ends in /api/v1, such as %s."
            % (method, visible_url(url), error_text(body, response.text)[:120], visible_url(self.base).rstrip("/"),
               "https://admin.vps.org/api/v1"),
            method=method, path=shown, status=404, body=body)

    def get(self, path: str, params: Params = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.request("POST", path, json=body if body is not None else {})

    def post_once(self, path: str, body: Any, find_done: Callable[[], Any]) -> Any:
        """POST an action that must happen once; when its answer is lost, look before sending it again.

        ``find_done()`` returns what the POST would have answered if it was
        carried out (the created object, the server being restored), or None.
        A 5xx or a dropped connection leaves the POST in doubt: only when
        ``find_done`` sees nothing is it sent again, within the retry policy.
        """
        attempt = 0
        while True:
            try:
                return self.post(path, body)
            except VpsorgApiError as exc:
                if not exc.maybe_committed:
                    raise
                done = find_done()
                if done is not None:
                    return done
                if attempt >= self.retry.retries:
                    raise
                self.sleep(self.retry.delay(attempt))
                attempt += 1

    def delete(self, path: str, missing_ok: bool = False) -> str:
        """DELETE: DELETED, or with ``missing_ok`` what a 404 means instead of raising it.

        A 404 on the first answer: ALREADY_GONE (someone else deleted it).
        A 404 on a retry after an answer that was lost (a 5xx, a dropped
        connection): DELETED_ANSWER_LOST, since the API most likely carried
        out the first attempt, as the contract warns.
        """
        try:
            self.request("DELETE", path)
        except VpsorgApiError as exc:
            if missing_ok and exc.missing:
                return DELETED_ANSWER_LOST if exc.maybe_committed else ALREADY_GONE
            raise
        return DELETED

    def list(self, path: str, params: Params = None, passes: int = LIST_PASSES) -> List[ApiObject]:
        """Every object of a list endpoint, as one consistent view, or a ``torn_list`` error.

        Inferred: lists are ``{"count", "results"}`` and may carry a ``next``
        URL; a bare JSON list is accepted too. The order is not documented and
        may move between page requests, so a page-by-page read can skip one
        object and repeat another. ``count`` is how that shows: the view is
        whole when it holds exactly ``count`` distinct ids. Every page read
        is added to the view (pages that count differently start it over),
        and the read stops as soon as the view is whole. Each pass after the
        first reads in another rhythm (page_repeats), so no order that
        alternates in a fixed rhythm (replicas) defeats it. Against a
        well-behaved API this costs one pass. What is decided from the view
        ("does not exist", which objects are the oldest) is therefore decided
        from every object.
        """
        params = {k: v for k, v in (params or {}).items() if v is not None}
        view = ListView()
        for number in range(passes):
            for items, count in self._read_pages(path, params, page_repeats(number)):
                view.add(items, count)
                if view.whole():
                    return view.objects()
            if not view.counted:
                # Nothing to check a pass against: one whole pass is all there is.
                return view.objects()
        raise self._torn_list_error(path, params, passes, view)

    def first_page(self, path: str, params: Params = None) -> Tuple[List[ApiObject], int | None, bool]:
        """One request: (objects of the first page, its count or None, whether more pages follow).

        Enough to tell how many requests a whole listing would cost, and,
        when the list fits one page, the listing itself.
        """
        page = self.request("GET", path, params={k: v for k, v in (params or {}).items() if v is not None})
        if isinstance(page, list):
            return page, len(page), False
        if not isinstance(page, dict) or not isinstance(page.get("results"), list):
            shown = self._describe(self.url(path))
            raise UnreadableAnswerError(f"GET {shown} answered a list we cannot read (no 'results').",
                                        method="GET", path=shown)
        return page["results"], page.get("count"), bool(page.get("next"))

    def _torn_list_error(self, path: str, params: Dict[str, Any], passes: int, view: ListView) -> TornListError:
        shown = self._describe(self.url(path))
        query = ", ".join("%s=%s" % item for item in sorted(params.items()))
        return TornListError(
            "GET %s%s kept changing while it was read: %d passes (%d page requests, each page read up to 3 times in "
            "a row) never saw together the %s objects it counts, at most %d (counts seen: %s). Its order moved "
            "between page requests every time; run the task again."
            % (shown, " (%s)" % query if query else "", passes, view.pages, view.count, view.most,
               ", ".join(str(c) for c in view.counts_seen) or "none"),
            method="GET", path=shown)

    def _read_pages(self, path: str, params: Params,
                    repeats: int = 1) -> Iterator[Tuple[List[ApiObject], int | None]]:
        """One page-by-page pass, each page read ``repeats`` times in a row: yields (objects, count) per answer."""
        seen_links = set()
        url, query, absolute = path, params, False
        while True:
            for _repeat in range(repeats):
                page = self.request("GET", url, params=query, absolute=absolute)
                if isinstance(page, list):
                    yield page, None
                    return
                if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                    shown = self._describe(self.url(path))
                    raise UnreadableAnswerError(f"GET {shown} answered a list we cannot read (no 'results').",
                                                method="GET", path=shown)
                yield page["results"], page.get("count")
            next_url = page.get("next")
            if not next_url or next_url in seen_links:
                return
            seen_links.add(next_url)
            url, query, absolute = self._same_origin(next_url), None, True

    def _same_origin(self, next_url: str) -> str:
        """Follow ``next`` on our own API URL: the token never goes to another host.

        A service behind a proxy often builds ``next`` from its internal host
        name or scheme; only the path and query of such a link are kept.
        """
        target = urlsplit(urljoin(self.base, next_url))
        base = urlsplit(self.base)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            return f"{base.scheme}://{base.netloc}{target.path}{'?' + target.query if target.query else ''}"
        return target.geturl()

    # ------------------------------------------------------------ waiting

    def wait_for(self, fetch: Callable[[], Polled | None], is_done: Callable[[Polled], bool], deadline: Deadline,
                 what: str, due: Callable[[], float | None] | None = None) -> Polled:
        """Poll ``fetch()`` until ``is_done(obj)``, within the task's ``deadline``.

        The caller has just seen the object unfinished (in a create's answer
        or a listing), so the first poll comes after the first delay of
        POLL_BACKOFF. A transient failure of one poll (a 5xx, a dropped
        connection, a list torn beyond repair) never ends the wait before its
        deadline: the next poll tries again. On timeout the error carries the
        last object seen, so the caller can report its id and status.
        ``due()``, when given, may bring a poll forward: the seconds until the
        operations should have ended (see Pace), or None.
        """
        backoff = Backoff(**POLL_BACKOFF)
        current, attempt = None, 0
        while True:
            remaining = deadline.remaining()
            if remaining <= 0:
                status = current.get("status") if isinstance(current, dict) else None
                raise WaitTimeoutError("Timed out after %d s waiting for %s (last status: %s)." % (
                    deadline.seconds, what, status), last_object=current)
            delay = backoff.delay(attempt)
            sooner = due() if (due is not None and current is not None) else None
            if sooner is not None:
                delay = min(delay, sooner)
            self.sleep(min(delay, remaining))
            attempt += 1
            try:
                found = fetch()
            except VpsorgApiError as exc:
                if not exc.transient or deadline.remaining() <= 0:
                    raise
                continue
            if found is None:
                raise WaitGoneError(f"{what} disappeared while waiting for it.")
            current = found
            if is_done(current):
                return current


class ListView:
    """The objects of a list read page by page, in one or more passes, deduplicated by id."""

    def __init__(self) -> None:
        self.count: int | None = None  # what the pages since the last start-over count; None: a page gave no count
        self.counted = False           # some page gave a count: there is something to check the view against
        self.by_id: Dict[Any, Any] = {}
        self.without_id: List[Any] = []
        # What a torn_list error tells: pages read, the counts seen, the most objects seen together.
        self.pages = 0
        self.counts_seen: List[int] = []
        self.most = 0

    def add(self, items: List[Any], count: int | None) -> None:
        """Add one page. A page that counts differently from the ones before starts the view over."""
        self.pages += 1
        self.counted = self.counted or count is not None
        if count is not None and count not in self.counts_seen:
            self.counts_seen.append(count)
        if count != self.count or (count is None and self.counted):
            # The list changed, or a page of a counted list gave no count:
            # what was seen before may be gone. (A list that never counts is
            # read in one pass, and its pages add up.)
            self._start_over()
        self.count = count
        self._add(items)
        if count is not None and self.size() > count:
            # More ids than the list holds: one object went and another came
            # while it was read. Only this page can be trusted now.
            self._start_over()
            self._add(items)
        self.most = max(self.most, self.size())

    def whole(self) -> bool:
        """True when the view holds exactly what the list counts."""
        return self.count is not None and self.size() == self.count

    def objects(self) -> List[Any]:
        return list(self.by_id.values()) + self.without_id

    def size(self) -> int:
        return len(self.by_id) + len(self.without_id)

    def _start_over(self) -> None:
        self.by_id, self.without_id = {}, []

    def _add(self, items: Iterable[Any]) -> None:
        for item in items:
            object_id = item.get("id") if isinstance(item, dict) else None
            if object_id is None:
                self.without_id.append(item)
            else:
                # The later sighting is the fresher one (a status may have moved on).
                self.by_id[object_id] = item
