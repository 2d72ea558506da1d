"""The Locust side of bench/load.py: one step's traders, run by `locust --headless` in a process of its own.

Nothing from Django is imported here: Locust monkey-patches the standard library for gevent on import,
which Django's database and Redis clients do not expect. bench/load.py writes what a step needs (the
site's address, one seat per trader: API token, session cookie, account, watchlist) to the JSON file
named by BENCH_LOAD_CONFIG, and reads back the file named by its `out`.

Each trader keeps a fixed interval per kind of request (INTERVALS), starting at a random phase, and its
requests go out one at a time in the order they fall due. A request's latency counts from the time it
was due, not from when it went out: a slow answer delays the requests after it, and their wait is
counted too (coordinated omission, as bench/orders.py accounts for it). Those corrected times are what
this file reports and what it fires as Locust request events, so Locust's own summary shows them as well.
Only requests due inside the measured window count; it opens once every trader has been spawned and
WARMUP seconds have passed. Alongside its requests, each trader holds the market stream (subscribed to
its watchlist) and the account stream open, as the trade page does, and counts the messages they bring.
"""

import heapq
import itertools
import json
import os
import random
import time
import uuid
from collections import Counter, defaultdict, deque
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from urllib.parse import urlsplit

import gevent
import websocket
from geventhttpclient import HTTPClient
from locust import User, events, task

CONFIG = json.loads(Path(os.environ["BENCH_LOAD_CONFIG"]).read_text())
ADDRESS = urlsplit(CONFIG["base"])

# Seconds between one trader's requests of each kind: the trade page's polling and a trader's orders.
# Each trader places a resting LIMIT order every 10 s and cancels its oldest one every 10 s.
INTERVALS = {
    "quote": 2.0,  # the selected instrument, with its market (OHLC, depth)
    "watchlist": 5.0,  # the watchlist's prices
    "bars": 15.0,  # the chart
    "orders": 5.0,
    "positions": 5.0,
    "summary": 10.0,
    "place": 10.0,
    "cancel": 10.0,
}
ENDPOINTS = {
    "quote": "GET /api/v1/quotes (one, with market)",
    "watchlist": "GET /api/v1/quotes (watchlist)",
    "bars": "GET /api/v1/instruments/{token}/bars",
    "orders": "GET /api/v1/orders",
    "positions": "GET /api/v1/positions",
    "summary": "GET /api/v1/portfolio/summary",
    "place": "POST /api/v1/orders",
    "cancel": "DELETE /api/v1/orders/{id}",
}
# LIMIT BUY orders this far under the last price rest (they stay within the 5 % price band).
BELOW_MARKET = Decimal("0.97")
TICK = Decimal("0.05")
TIMEOUT = 10.0
# After the window closes, how long traders still behind may take to send and hear back what was due in it.
DRAIN = TIMEOUT + 5


class Window:
    start = end = float("inf")


SEATS = itertools.count()
TRADERS: list["Trader"] = []
SAMPLES: dict[str, list[float]] = {kind: [] for kind in INTERVALS}
ERRORS: dict[str, Counter] = {kind: Counter() for kind in INTERVALS}
BY_SECOND: defaultdict[int, list[float]] = defaultdict(list)  # every endpoint's latencies, by the second due
STREAMS = {
    name: {"clients": 0, "connected": 0, "failed": Counter(), "dropped": 0, "messages": 0, "connect_ms": []}
    for name in ("market", "account")
}


def record(kind: str, scheduled: float, error: str | None = None, length: int = 0) -> None:
    if not Window.start <= scheduled < Window.end:
        return
    elapsed_ms = (time.monotonic() - scheduled) * 1000
    if error is None:
        SAMPLES[kind].append(elapsed_ms)
        BY_SECOND[int(scheduled - Window.start)].append(elapsed_ms)
    else:
        ERRORS[kind][error] += 1
    method, _, name = ENDPOINTS[kind].partition(" ")
    events.request.fire(
        request_type=method,
        name=name,
        response_time=elapsed_ms,
        response_length=length,
        response=None,
        context={},
        exception=None if error is None else RuntimeError(error),
    )


class Trader(User):
    # The one task runs the trader's whole schedule; Locust's wait_time plays no part.
    def on_start(self):
        self.seat = CONFIG["users"][next(SEATS) % len(CONFIG["users"])]
        self.http = HTTPClient(
            ADDRESS.hostname, ADDRESS.port, connection_timeout=TIMEOUT, network_timeout=TIMEOUT, concurrency=1
        )
        self.auth = {"Authorization": f"Bearer {self.seat['token']}"}
        self.prices = {int(token): Decimal(price) for token, price in self.seat["prices"].items()}
        self.resting: deque[int] = deque()
        self.due: list[tuple[float, str]] = []
        self.in_flight: tuple[float, str] | None = None
        self.done = False
        self.streams = [gevent.spawn(self.stream, "market"), gevent.spawn(self.stream, "account")]
        TRADERS.append(self)

    def on_stop(self):
        gevent.killall(self.streams, block=False)
        self.http.close()

    @task
    def trading_day(self):
        now = time.monotonic()
        self.due = [(now + random.uniform(0, interval), kind) for kind, interval in INTERVALS.items()]
        heapq.heapify(self.due)
        while self.due[0][0] < Window.end:
            scheduled, kind = heapq.heappop(self.due)
            heapq.heappush(self.due, (scheduled + INTERVALS[kind], kind))
            delay = scheduled - time.monotonic()
            if delay > 0:
                gevent.sleep(delay)
            self.in_flight = (scheduled, kind)
            getattr(self, kind)(scheduled)
            self.in_flight = None
        self.done = True
        gevent.sleep(3600)  # until the step ends; the streams stay open meanwhile

    def unsent(self) -> Counter:
        """What was due in the window and not answered when the step ended (the trader fell that far behind)."""
        late = Counter()
        if self.in_flight is not None and Window.start <= self.in_flight[0] < Window.end:
            late[self.in_flight[1]] += 1
        for scheduled, kind in self.due:
            if Window.start <= scheduled < Window.end and (kind != "cancel" or self.resting):
                late[kind] += 1
        return late

    def call(self, kind: str, scheduled: float, method: str, path: str, body: dict | None = None, **headers: str):
        """The answer's status and body, recorded against `kind`; None if it failed."""
        data = b"" if body is None else json.dumps(body).encode()
        headers = {**self.auth, **headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.http.request(method, path, body=data, headers=headers)
            content = response.read()
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # a refused, reset or timed-out connection is an error like a 5xx
            record(kind, scheduled, type(exc).__name__)
            return None
        status = response.status_code
        record(kind, scheduled, None if 200 <= status < 300 else f"http_{status}", len(content))
        return status, content

    def prices_take(self, answer) -> None:
        if answer and answer[0] == 200:
            for quote in json.loads(answer[1]):
                if quote["last_price"] is not None:
                    self.prices[quote["instrument_token"]] = Decimal(quote["last_price"])

    def quote(self, scheduled: float) -> None:
        token = self.seat["watchlist"][0]
        self.prices_take(self.call("quote", scheduled, "GET", f"/api/v1/quotes?instruments={token}&market=true"))

    def watchlist(self, scheduled: float) -> None:
        tokens = ",".join(str(token) for token in self.seat["watchlist"])
        self.prices_take(self.call("watchlist", scheduled, "GET", f"/api/v1/quotes?instruments={tokens}&market=false"))

    def bars(self, scheduled: float) -> None:
        token = self.seat["watchlist"][0]
        self.call("bars", scheduled, "GET", f"/api/v1/instruments/{token}/bars?interval=1m&limit=1000")

    def orders(self, scheduled: float) -> None:
        self.call("orders", scheduled, "GET", f"/api/v1/orders?account={self.seat['account']}&limit=100")

    def positions(self, scheduled: float) -> None:
        self.call("positions", scheduled, "GET", f"/api/v1/positions?account={self.seat['account']}")

    def summary(self, scheduled: float) -> None:
        self.call("summary", scheduled, "GET", f"/api/v1/portfolio/summary?account={self.seat['account']}")

    def place(self, scheduled: float) -> None:
        token = random.choice(self.seat["watchlist"])
        price = (self.prices[token] * BELOW_MARKET / TICK).to_integral_value(ROUND_FLOOR) * TICK
        body = {
            "account": self.seat["account"],
            "instrument_token": token,
            "transaction_type": "BUY",
            "order_type": "LIMIT",
            "product": "CNC",
            "quantity": 1,
            "price": str(price),
        }
        answer = self.call("place", scheduled, "POST", "/api/v1/orders", body, **{"Idempotency-Key": uuid.uuid4().hex})
        if answer and answer[0] == 201:
            self.resting.append(json.loads(answer[1])["id"])

    def cancel(self, scheduled: float) -> None:
        if self.resting:  # nothing placed yet (or every placement failed): nothing to cancel
            self.call("cancel", scheduled, "DELETE", f"/api/v1/orders/{self.resting.popleft()}")

    def stream(self, name: str) -> None:
        figures = STREAMS[name]
        figures["clients"] += 1
        url = CONFIG["base"].replace("http://", "ws://") + f"/ws/{name}/"
        started = time.monotonic()
        try:
            socket = websocket.create_connection(
                url, timeout=TIMEOUT, origin=CONFIG["base"], cookie=f"sessionid={self.seat['cookie']}"
            )
        except Exception as exc:
            figures["failed"][type(exc).__name__] += 1
            return
        try:
            if name == "market":
                socket.send(json.dumps({"action": "subscribe", "instruments": self.seat["watchlist"]}))
            socket.recv()  # "subscribed" with the prices, or the account stream's "hello"
            figures["connect_ms"].append((time.monotonic() - started) * 1000)
            figures["connected"] += 1
            socket.settimeout(None)
            while True:
                socket.recv()
                if Window.start <= time.monotonic() < Window.end:
                    figures["messages"] += 1
        except gevent.GreenletExit:
            raise
        except Exception as exc:
            if time.monotonic() < Window.end:
                figures["dropped"] += 1
                figures["failed"][f"dropped: {type(exc).__name__}"] += 1
        finally:
            socket.close()


def percentile(ordered: list[float], share: float) -> float | None:
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 2) if ordered else None


def results() -> dict:
    late = Counter()
    for trader in TRADERS:
        late.update(trader.unsent())
    endpoints = {}
    for kind, name in ENDPOINTS.items():
        ordered = sorted(SAMPLES[kind])
        errors = ERRORS[kind] + Counter({"unanswered_at_step_end": late[kind]} if late[kind] else {})
        endpoints[name] = {
            "requests": len(ordered) + sum(errors.values()),
            "ok": len(ordered),
            "errors": dict(errors),
            "p50_ms": percentile(ordered, 0.50),
            "p95_ms": percentile(ordered, 0.95),
            "p99_ms": percentile(ordered, 0.99),
            "max_ms": round(ordered[-1], 2) if ordered else None,
        }
    streams = {}
    for name, figures in STREAMS.items():
        connect = sorted(figures["connect_ms"])
        streams[name] = {
            "clients": figures["clients"],
            "connected": figures["connected"],
            "failed": dict(figures["failed"]),
            "dropped": figures["dropped"],
            "messages": figures["messages"],
            "connect_p95_ms": percentile(connect, 0.95),
        }
    # Whether the misses are steady or bunched (a stall, the ramp's tail): p95 of each second of the window.
    by_second = [percentile(sorted(BY_SECOND[second]), 0.95) for second in range(int(CONFIG["seconds"]))]
    return {"traders": len(TRADERS), "endpoints": endpoints, "streams": streams, "p95_ms_by_second": by_second}


def step_finish(environment) -> None:
    """Once the window has closed and every trader has caught up (or DRAIN has passed), write the results
    and stop Locust."""
    gevent.sleep(max(0.0, Window.end - time.monotonic()))
    deadline = Window.end + DRAIN
    while time.monotonic() < deadline and not all(trader.done for trader in TRADERS):
        gevent.sleep(0.1)
    Path(CONFIG["out"]).write_text(json.dumps(results()))
    environment.runner.quit()


@events.test_start.add_listener
def window_open(environment, **_):
    Window.start = time.monotonic() + CONFIG["users_count"] / CONFIG["spawn_rate"] + CONFIG["warmup"]
    Window.end = Window.start + CONFIG["seconds"]
    # bench/load.py reads the window to measure each process's CPU over it (CLOCK_MONOTONIC is machine-wide).
    written = Path(CONFIG["window"] + ".part")
    written.write_text(json.dumps({"start": Window.start, "end": Window.end}))
    written.replace(CONFIG["window"])  # whole or not at all, for the reader polling for it
    gevent.spawn(step_finish, environment)
