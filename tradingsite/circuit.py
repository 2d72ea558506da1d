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
    def __init__(self, name: str, *, failures: int, reset_seconds: float):
        self.name, self.threshold, self.reset_seconds = name, failures, reset_seconds
        self.state, self.failures, self.opened_at, self.trial_at = CLOSED, 0, 0.0, 0.0
        self.lock = threading.Lock()
        circuit_state.labels(name).set(CLOSED)

    def set_state(self, state: int) -> None:
        if state != self.state:
            logger.warning("circuit %s: %s -> %s", self.name, NAMES[self.state], NAMES[state])
        self.state = state
        circuit_state.labels(self.name).set(state)

    def allow(self) -> bool:
        """Whether a call may go now. When the open period is over, the first caller gets the trial call;
        a trial that has not reported back within the period lets another through."""
        with self.lock:
            now = time.monotonic()
            if self.state == CLOSED:
                return True
            if now - max(self.opened_at, self.trial_at) < self.reset_seconds:
                return False
            self.set_state(HALF_OPEN)
            self.trial_at = now
            return True

    def retry_in(self) -> float:
        with self.lock:
            return max(0.0, self.reset_seconds - (time.monotonic() - max(self.opened_at, self.trial_at)))

    def succeeded(self) -> None:
        with self.lock:
            self.failures = 0
            self.set_state(CLOSED)

    def failed(self) -> None:
        with self.lock:
            self.failures += 1
            if self.state == HALF_OPEN or self.failures >= self.threshold:
                if self.state != OPEN:
                    circuit_opened.labels(self.name).inc()
                self.opened_at = time.monotonic()
                self.set_state(OPEN)

    @contextmanager
    def call(self, failures: tuple[type[BaseException], ...]):
        """Run the block through the circuit: refused with CircuitOpen while open; an exception of
        `failures` counts against the circuit, anything else (an answer, even a refusal) for it."""
        if not self.allow():
            raise CircuitOpen(
                f"{self.name} failed {self.threshold} times in a row; not called again for {self.retry_in():.0f} s"
            )
        try:
            yield
        except failures:
            self.failed()
            raise
        except BaseException:
            self.succeeded()  # the service answered, if only to refuse
            raise
        self.succeeded()


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
