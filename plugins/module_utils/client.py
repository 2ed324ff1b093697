# -*- coding: utf-8 -*-
# Copyright (c) 2026, vpsorg.cloud maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one HTTP client of the collection: auth, retries, pagination, waiting, errors.

Modules never build URLs or parse error bodies; they call this client and
catch :class:`VpsorgApiError`, the only error type it raises.
"""

from __future__ import annotations

import email.utils
import ipaddress
import random
import time
import traceback

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

COLLECTION_VERSION = "1.0.0"
USER_AGENT = "ansible-vpsorg.cloud/%s" % COLLECTION_VERSION

# 429 means the API refused the request without acting on it (RFC 6585), so
# even a POST may be sent again. 502/503/504 may come from a proxy after the
# API acted, so for a POST they only tell the caller to reconcile.
THROTTLED = 429
TRANSIENT_STATUSES = (502, 503, 504)
IDEMPOTENT_METHODS = ("GET", "HEAD", "DELETE")

POLL_FIRST_DELAY = 1.0
POLL_MAX_DELAY = 15.0
POLL_GROWTH = 1.5


class VpsorgApiError(Exception):
    """Every failure of an API call, a wait or a response we cannot read.

    ``reason`` is one of ``http`` (the API answered an error), ``connection``
    (no answer), ``invalid_response`` (an answer we cannot parse),
    ``wait_timeout`` and ``wait_gone``. ``maybe_committed`` is true for a
    POST whose answer was lost: the API may have acted on it, so the caller
    must look before sending it again. ``last_object`` is the last object a
    wait saw. The message never holds the token.
    """

    def __init__(self, message, method=None, path=None, status=None, reason="http", body=None,
                 maybe_committed=False, last_object=None):
        super(VpsorgApiError, self).__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.body = body
        self.maybe_committed = maybe_committed
        self.last_object = last_object

    def to_dict(self):
        """What a module puts under ``api_error`` in a failure result."""
        return {
            "status": self.status,
            "method": self.method,
            "path": self.path,
            "reason": self.reason,
            "message": self.message,
        }


def error_text(body, raw_text):
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
            parts.append("%s: %s" % (field, problems))
        if parts:
            return "; ".join(parts)
    if isinstance(body, list) and body:
        return "; ".join(str(item) for item in body)
    text = " ".join((raw_text or "").split())
    return text[:300] + ("..." if len(text) > 300 else "") if text else "(empty body)"


def parse_retry_after(value, now=None):
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


def is_loopback(host):
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RetryPolicy:
    """How often and how long to wait before sending a request again."""

    def __init__(self, retries=5, max_delay=30.0, base_delay=1.0, jitter=random.random):
        self.retries = max(0, int(retries))
        self.max_delay = float(max_delay)
        self.base_delay = float(base_delay)
        self.jitter = jitter

    def delay(self, attempt, retry_after=None):
        """Exponential backoff with jitter; a server's ``Retry-After`` wins (capped)."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        ceiling = min(self.max_delay, self.base_delay * (2 ** attempt))
        return ceiling * (0.5 + self.jitter() / 2)


class Deadline:
    """One time budget shared by every wait of a task."""

    def __init__(self, seconds, clock=time.monotonic):
        self.clock = clock
        self.seconds = seconds
        self.started = clock()

    def remaining(self):
        return self.seconds - (self.clock() - self.started)


def _never_sent(exc):
    """True when a connection error proves the request never reached the API."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(getattr(reason, "reason", reason), NewConnectionError)


class VpsorgClient:
    """A ``requests.Session`` bound to one API URL and token."""

    def __init__(self, api_url, api_token, validate_certs=True, timeout=30, retry_policy=None,
                 sleep=time.sleep, session=None):
        parts = urlsplit(api_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise VpsorgApiError("api_url must be an http:// or https:// URL such as https://admin.vps.org/api/v1, got %r." % api_url,
                                 reason="invalid_request")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise VpsorgApiError(
                "Refusing to send the API token over plain http:// to %s; use https:// "
                "(plain http:// is only allowed to a loopback address such as 127.0.0.1)." % parts.hostname,
                reason="invalid_request")
        self.base = api_url.rstrip("/") + "/"
        self.timeout = timeout
        self.retry = retry_policy or RetryPolicy()
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.verify = validate_certs
        self.session.headers.update({
            "Authorization": "Bearer %s" % api_token,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        })
        # Requests sent, retries included: modules report it as api_calls.
        self.calls = 0

    # ------------------------------------------------------------ requests

    def url(self, path):
        """Absolute URL of an API path; every documented path ends with a slash."""
        path = path.lstrip("/")
        if path and not path.endswith("/"):
            path += "/"
        return urljoin(self.base, path)

    def _describe(self, url):
        return urlsplit(url).path

    def request(self, method, path, json=None, params=None, absolute=False):
        """Send one request with the retry policy; return the parsed JSON (or None)."""
        url = path if absolute else self.url(path)
        shown = self._describe(url)
        attempt = 0
        while True:
            self.calls += 1
            try:
                response = self.session.request(method, url, json=json, params=params, timeout=self.timeout)
            except requests.exceptions.RequestException as exc:
                never_sent = _never_sent(exc)
                error = VpsorgApiError(
                    "%s %s got no answer from the VPS.org API: %s" % (method, shown, type(exc).__name__),
                    method=method, path=shown, reason="connection",
                    maybe_committed=method not in IDEMPOTENT_METHODS and not never_sent)
                if (method in IDEMPOTENT_METHODS or never_sent) and attempt < self.retry.retries:
                    self.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                raise error

            status = response.status_code
            if status < 400:
                return self._parse(response, method, shown)
            retryable = status == THROTTLED or (status in TRANSIENT_STATUSES and method in IDEMPOTENT_METHODS)
            if retryable and attempt < self.retry.retries:
                self.sleep(self.retry.delay(attempt, parse_retry_after(response.headers.get("Retry-After"))))
                attempt += 1
                continue
            raise self._http_error(response, method, shown, attempt)

    def _parse(self, response, method, shown):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise VpsorgApiError(
                "%s %s answered HTTP %d with a body that is not JSON: %s"
                % (method, shown, response.status_code, error_text(None, response.text)),
                method=method, path=shown, status=response.status_code, reason="invalid_response",
                maybe_committed=method not in IDEMPOTENT_METHODS)

    def _http_error(self, response, method, shown, retries_used):
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = error_text(body, response.text)
        message = "%s %s failed with HTTP %d: %s" % (method, shown, response.status_code, detail)
        if retries_used:
            message += " (gave up after %d retries)" % retries_used
        return VpsorgApiError(
            message, method=method, path=shown, status=response.status_code, body=body,
            maybe_committed=method not in IDEMPOTENT_METHODS and response.status_code in TRANSIENT_STATUSES + (500,))

    def get(self, path, params=None):
        return self.request("GET", path, params=params)

    def post(self, path, body=None):
        return self.request("POST", path, json=body if body is not None else {})

    def delete(self, path, missing_ok=False):
        """DELETE; with ``missing_ok`` a 404 returns False instead of raising."""
        try:
            self.request("DELETE", path)
        except VpsorgApiError as exc:
            if missing_ok and exc.status == 404:
                return False
            raise
        return True

    def list(self, path, params=None):
        """Every object of a list endpoint, following ``next`` across pages.

        Inferred: lists are ``{"count", "results"}`` and may carry a ``next``
        URL; a bare JSON list is accepted too.
        """
        items = []
        page = self.request("GET", path, params={k: v for k, v in (params or {}).items() if v is not None})
        seen = set()
        while True:
            if isinstance(page, list):
                return items + page
            if not isinstance(page, dict) or not isinstance(page.get("results"), list):
                shown = self._describe(self.url(path))
                raise VpsorgApiError("GET %s answered a list we cannot read (no 'results')." % shown,
                                     method="GET", path=shown, reason="invalid_response")
            items.extend(page["results"])
            next_url = page.get("next")
            if not next_url or next_url in seen:
                return items
            seen.add(next_url)
            page = self.request("GET", self._same_origin(next_url), absolute=True)

    def _same_origin(self, next_url):
        """Follow ``next`` on our own API URL: the token never goes to another host.

        A service behind a proxy often builds ``next`` from its internal host
        name or scheme; only the path and query of such a link are kept.
        """
        target = urlsplit(urljoin(self.base, next_url))
        base = urlsplit(self.base)
        if (target.scheme, target.netloc) != (base.scheme, base.netloc):
            return "%s://%s%s%s" % (base.scheme, base.netloc, target.path, "?" + target.query if target.query else "")
        return target.geturl()

    # ------------------------------------------------------------ waiting

    def wait_for(self, fetch, is_done, deadline, what):
        """Poll ``fetch()`` until ``is_done(obj)``, within the task's ``deadline``.

        Backoff starts near 1 s and grows to 15 s, with jitter, so a long
        operation costs few requests. On timeout the error carries the last
        object seen, so the caller can report its id and status.
        """
        delay = POLL_FIRST_DELAY
        while True:
            current = fetch()
            if current is None:
                raise VpsorgApiError("%s disappeared while waiting for it." % what, reason="wait_gone")
            if is_done(current):
                return current
            remaining = deadline.remaining()
            if remaining <= 0:
                raise VpsorgApiError(
                    "Timed out after %d s waiting for %s (last status: %s)."
                    % (deadline.seconds, what, current.get("status")),
                    reason="wait_timeout", last_object=current)
            self.sleep(min(delay * (0.8 + random.random() * 0.4), remaining))
            delay = min(POLL_MAX_DELAY, delay * POLL_GROWTH)
