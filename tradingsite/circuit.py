"""Circuit breakers for the services outside the site: the broker (Kite), news sources, the OpenID provider.

After CIRCUIT_FAILURES failures in a row (timeouts, refused connections, 5xx) a circuit opens: calls
fail at once for CIRCUIT_RESET_SECONDS instead of each waiting out its timeout, so a broker that hangs
does not hold every dispatcher for seconds per order. Then one trial call goes through (half-open): a
success closes the circuit, a failure opens it again for another period. Each process keeps its own
circuits (a process cannot vouch for another's connection); their state is in the metrics, as
`tradingsite_circuit_state{circuit}` (0 closed, 1 half-open, 2 open: the highest of the live processes)
and `tradingsite_circuit_opened_total{circuit}`.
"""

import logging
import threading
import time
from contextlib import contextmanager

from django.conf import settings
from prometheus_client import Counter, Gauge

logger = logging.getLogger(__name__)

CLOSED, HALF_OPEN, OPEN = 0, 1, 2
NAMES = {CLOSED: "closed", HALF_OPEN: "half-open", OPEN: "open"}

circuit_state = Gauge(
    "tradingsite_circuit_state",
    "Circuit breakers of outside services: 0 closed, 1 half-open (one trial call), 2 open (calls refused).",
    ["circuit"],
    multiprocess_mode="livemax",
)
circuit_opened = Counter("tradingsite_circuit_opened_total", "Times a circuit breaker opened.", ["circuit"])


class CircuitOpen(Exception):
    """The circuit is open: the call was not made."""


class Circuit:
    """One outside service's circuit. A caller asks `allow()` for a ticket (None: do not call), makes the
    call and reports its outcome with the ticket: `succeeded`, `failed`, or nothing when the call never
    reached the service. A report from a call admitted before the circuit last changed state is stale and
    ignored (a slow success from before an outage must not close it; late failures must not extend it),
    and while half-open only the trial's report counts."""

    def __init__(self, name: str, *, failures: int, reset_seconds: float):
        self.name, self.threshold, self.reset_seconds = name, failures, reset_seconds
        self.state, self.failures, self.opened_at, self.trial_at = CLOSED, 0, 0.0, 0.0
        self.generation = 0  # changes with every change of state
        self.lock = threading.Lock()
        circuit_state.labels(name).set(CLOSED)

    def set_state(self, state: int) -> None:
        if state != self.state:
            logger.warning("circuit %s: %s -> %s", self.name, NAMES[self.state], NAMES[state])
            self.generation += 1
        self.state = state
        circuit_state.labels(self.name).set(state)

    def allow(self) -> int | None:
        """A ticket for a call now, or None while the circuit is open. When the pause is over the first
        caller gets the trial call; a trial that has not reported back within a pause lets another through."""
        with self.lock:
            now = time.monotonic()
            if self.state == CLOSED:
                return self.generation
            if now - max(self.opened_at, self.trial_at) < self.reset_seconds:
                return None
            self.trial_at = now
            self.set_state(HALF_OPEN)
            self.generation += 1  # a newer trial's ticket: an older, overdue trial's report is stale
            return self.generation

    def retry_in(self) -> float:
        with self.lock:
            return max(0.0, self.reset_seconds - (time.monotonic() - max(self.opened_at, self.trial_at)))

    def succeeded(self, ticket: int) -> None:
        with self.lock:
            if ticket != self.generation:
                return
            self.failures = 0
            self.set_state(CLOSED)

    def failed(self, ticket: int) -> None:
        with self.lock:
            if ticket != self.generation:
                return
            self.failures += 1
            if self.state == HALF_OPEN or self.failures >= self.threshold:
                circuit_opened.labels(self.name).inc()
                self.opened_at = time.monotonic()
                self.set_state(OPEN)

    def refusal(self) -> str:
        return f"{self.name} failed {self.threshold} times in a row; not called again for {self.retry_in():.0f} s"

    @contextmanager
    def call(self, outage, answered=lambda: True):
        """Run the block through the circuit: CircuitOpen while open. `outage(exc)` says whether an
        exception means the service is out of reach (counted against it); other exceptions, and a
        return, count for it when `answered()` says the service was reached at all."""
        ticket = self.allow()
        if ticket is None:
            raise CircuitOpen(self.refusal())
        try:
            yield
        except BaseException as exc:
            if outage(exc):
                self.failed(ticket)
            elif answered():
                self.succeeded(ticket)
            raise
        if answered():
            self.succeeded(ticket)


_circuits: dict[str, Circuit] = {}
_lock = threading.Lock()


def circuit(name: str, *, reset_seconds: float | None = None) -> Circuit:
    """This process's circuit for the outside service `name`; its pause is CIRCUIT_RESET_SECONDS unless
    the service asks for another (`reset_seconds`, at the circuit's first use)."""
    with _lock:
        if name not in _circuits:
            pause = reset_seconds if reset_seconds is not None else settings.CIRCUIT_RESET_SECONDS
            _circuits[name] = Circuit(name, failures=settings.CIRCUIT_FAILURES, reset_seconds=pause)
        return _circuits[name]
