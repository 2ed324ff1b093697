"""Faults on demand: which API requests get a 429, a 5xx, a dropped connection, ...

A fault rule matches requests by method and path prefix and fires either on a
fraction of them (``rate``) or on the next ``count`` of them. Rules are tried
in the order they were added; the first that fires decides the request. A
barrier only gathers: a request it holds goes on to meet the other rules, so
a race can also lose one of its answers.
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
    "commit_drop",  # POST or DELETE: do the work, then close the connection unanswered
    "commit_fail",  # POST or DELETE: do the work, then answer ``status`` (a 5xx) as a proxy that lost the answer
    "barrier",      # hold the next ``count`` requests until all of them have arrived, then serve them in turn
)
# Faults that let the API carry a request out and then lose its answer: only a change can be lost that way.
COMMIT_KINDS = ("commit_drop", "commit_fail")
COMMIT_METHODS = ("POST", "DELETE")


class FaultRule:
    def __init__(self, kind, rate=None, count=None, methods=None, path=None, retry_after=1, delay=2.0, status=None,
                 skip=0):
        kind = str(kind)
        if kind not in KINDS:
            raise ValueError("unknown fault kind %r; expected one of %s" % (kind, ", ".join(KINDS)))
        if (rate is None) == (count is None):
            raise ValueError("a fault needs exactly one of rate or count")
        self.kind = kind
        self.rate = None if rate is None else float(rate)
        self.count = None if count is None else int(count)
        self.methods = [m.upper() for m in methods] if methods else (["POST"] if kind in COMMIT_KINDS else None)
        self.path = path
        self.retry_after = retry_after
        self.delay = float(delay)
        # garbage answers a 502 page by default, commit_fail a 500.
        self.status = int(status) if status is not None else (500 if kind == "commit_fail" else 502)
        # Let the first ``skip`` matching requests through untouched, so a
        # test can aim at, say, the third GET of a task.
        self.skip = int(skip)
        # A barrier makes a race certain: requests that would arrive "at about
        # the same time" are all inside the API before any of them is served.
        # Once all are in, they are served one after the other in the order
        # they arrived, so which of them the API carries out first (and so
        # which object gets the lower id) is certain too.
        self.barrier = None
        if kind == "barrier":
            if self.count is None or self.count < 2:
                raise ValueError("a barrier needs count of 2 or more (the requests it gathers)")
            self.barrier = threading.Barrier(self.count, timeout=BARRIER_TIMEOUT)
            self._turn = threading.Condition()
            self._arrived = 0
            self._served = 0

    def matches(self, method, path):
        if self.methods and method.upper() not in self.methods:
            return False
        if self.kind in COMMIT_KINDS and method.upper() not in COMMIT_METHODS:
            return False
        return self.path is None or path.startswith(self.path)

    def as_dict(self):
        return dict((k, v) for k, v in vars(self).items() if k not in ("barrier", "_turn"))

    def arrive(self):
        """A request joins the barrier's party: its place in the queue."""
        with self._turn:
            ticket = self._arrived
            self._arrived += 1
            return ticket

    def gather(self, ticket):
        """Block until the whole party has arrived (or it times out), then until it is ``ticket``'s turn."""
        try:
            self.barrier.wait()
        except threading.BrokenBarrierError:
            pass
        with self._turn:
            self._turn.wait_for(lambda: self._served >= ticket, timeout=BARRIER_TIMEOUT)

    def served(self):
        """The request whose turn it was has been carried out: the next one may go."""
        with self._turn:
            self._served += 1
            self._turn.notify_all()

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
        """(barriers, rule): the barriers that gather this request (each with its place) and the rule that decides it.

        A count-rule that fires is used up.
        """
        barriers = []
        with self._lock:
            for rule in self._rules:
                if not rule.matches(method, path) or not self._fires(rule):
                    continue
                if rule.kind == "barrier":
                    barriers.append((rule, rule.arrive()))
                    continue
                return barriers, rule
            return barriers, None

    def _fires(self, rule):
        if rule.skip > 0:
            rule.skip -= 1
            return False
        if rule.count is not None:
            if rule.count > 0:
                rule.count -= 1
                return True
            return False
        return self._random.random() < rule.rate
