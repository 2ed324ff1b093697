"""Faults on demand: which API requests get a 429, a 5xx, a dropped connection, ...

A fault rule matches requests by method and path prefix and fires either on a
fraction of them (``rate``) or on the next ``count`` of them. Rules are tried
in the order they were added; the first that fires decides the request.
"""

import random
import threading

# How long a "barrier" holds requests waiting for the rest of its party.
BARRIER_TIMEOUT = 60.0

# kind -> what the HTTP layer does (see app.py)
STATUS_KINDS = {"429": 429, "500": 500, "502": 502, "503": 503, "504": 504}
KINDS = tuple(STATUS_KINDS) + (
    "drop",         # close the connection before doing anything
    "slow",         # wait ``delay`` seconds, then answer normally
    "garbage",      # answer ``status`` with a body that is not JSON
    "commit_drop",  # POST only: do the work, then close the connection unanswered
    "barrier",      # hold the next ``count`` requests until all of them have arrived, then serve them
)


class FaultRule:
    def __init__(self, kind, rate=None, count=None, methods=None, path=None, retry_after=1, delay=2.0, status=502,
                 skip=0):
        kind = str(kind)
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r; expected one of %s" % (kind, ", ".join(KINDS)))
        if (rate is None) == (count is None):
            raise ValueError("a fault needs exactly one of rate or count")
        self.kind = kind
        self.rate = None if rate is None else float(rate)
        self.count = None if count is None else int(count)
        self.methods = [m.upper() for m in methods] if methods else (["POST"] if kind == "commit_drop" else None)
        self.path = path
        self.retry_after = retry_after
        self.delay = float(delay)
        self.status = int(status)
        # Let the first ``skip`` matching requests through untouched, so a
        # test can aim at, say, the third GET of a task.
        self.skip = int(skip)
        # A barrier makes a race certain: requests that would arrive "at about
        # the same time" are all inside the API before any of them is served.
        self.barrier = None
        if kind == "barrier":
            if self.count is None or self.count < 2:
                raise ValueError("a barrier needs count of 2 or more (the requests it gathers)")
            self.barrier = threading.Barrier(self.count, timeout=BARRIER_TIMEOUT)

    def matches(self, method, path):
        if self.methods and method.upper() not in self.methods:
            return False
        if self.kind == "commit_drop" and method.upper() != "POST":
            return False
        return self.path is None or path.startswith(self.path)

    def as_dict(self):
        return dict((k, v) for k, v in vars(self).items() if k != "barrier")

    def gather(self):
        """Block until the whole party of a barrier has arrived (or it times out)."""
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            pass

    @classmethod
    def parse(cls, text):
        """``kind:rate=0.3,retry_after=2`` or ``kind:count=3`` (the CLI form)."""
        kind, _sep, params = text.partition(":")
        options = {}
        for item in filter(None, params.split(",")):
            key, _eq, value = item.partition("=")
            if key == "methods":
                options[key] = value.split("+")
            else:
                options[key] = value
        return cls(kind, **options)


class FaultInjector:
    def __init__(self, seed=None):
        self._lock = threading.Lock()
        self._rules = []
        self._random = random.Random(seed)

    def add(self, rule):
        with self._lock:
            self._rules.append(rule)

    def clear(self):
        with self._lock:
            self._rules = []

    def rules(self):
        with self._lock:
            return [rule.as_dict() for rule in self._rules]

    def pick(self, method, path):
        """The rule that fires for this request, if any (a count-rule is used up)."""
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path):
                    continue
                if rule.skip > 0:
                    rule.skip -= 1
                    continue
                if rule.count is not None:
                    if rule.count > 0:
                        rule.count -= 1
                        return rule
                elif self._random.random() < rule.rate:
                    return rule
            return None
