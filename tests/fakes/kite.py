"""A fake Kite Connect on loopback, speaking Kite's wire formats, for the real kiteconnect client.

HTTP: form-encoded requests; answers in Kite's `{"status": "success", "data": ...}` envelope or its
error envelope `{"status": "error", "message": ..., "error_type": ...}` with Kite's HTTP status codes.
Answers are seeded from the official mock responses in ../shared/fixtures/kite-mocks/.
The websocket (`FakeTicker`) streams binary tick frames built from the official ticker packets.
The login page (`/connect/login`) stands in for Kite's: it sends the browser to the app's redirect URL
with a request_token, the `redirect_params` it was given, `status=success` and `action=login`.
"""

import base64
import contextlib
import hashlib
import json
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

IST_ZONE = timezone(timedelta(hours=5, minutes=30))
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "kite-mocks"


def fixture(name: str) -> dict:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"the Kite mock responses are not at {FIXTURES} (../shared/fixtures/kite-mocks)")
    return json.loads(path.read_text())


@dataclass
class FakeKite:
    api_key: str
    api_secret: str
    redirect_url: str
    calls: list[tuple[str, str, dict]] = field(default_factory=list)
    request_tokens: set[str] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)
    invalidated: set[str] = field(default_factory=set)
    # Orders placed, by Kite order id; and what the next placements meet: "429", "reject", or
    # "timeout_after_accept" (the order is taken, the answer comes after the client has given up).
    orders: dict[str, dict] = field(default_factory=dict)
    next_place: list[str] = field(default_factory=list)
    answer_delay_seconds: float = 3.0
    # Holdings (delivered shares) the account has at Kite: rows over the holdings.json template.
    holdings: list[dict] = field(default_factory=list)
    # Historical requests as (monotonic time, from, to), and what the next ones meet ("429").
    historical: list[tuple[float, datetime, datetime]] = field(default_factory=list)
    next_historical: list[str] = field(default_factory=list)
    rate_limited: int = 0

    def candles(self, interval: str, start: datetime, end: datetime) -> list[list]:
        """The official minute candles (15 Dec 2017) where the range covers them; elsewhere one candle at
        09:15 on each weekday (daily candles: one a weekday), so a long range has candles in every span."""
        official = (
            [
                row
                for row in fixture("historical_minute.json")["data"]["candles"]
                if start <= datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S%z") <= end
            ]
            if interval == "minute"
            else []
        )
        covered = {row[0][:10] for row in official}
        rows = []
        day = start.date()
        while day <= end.date():
            at = datetime.combine(day, dtime(9, 15) if interval == "minute" else dtime(0, 0), tzinfo=IST_ZONE)
            if day.weekday() < 5 and day.isoformat() not in covered and start <= at <= end:
                rows.append([at.strftime("%Y-%m-%dT%H:%M:%S%z"), 1700.0, 1701.5, 1699.0, 1700.5, 100])
            day += timedelta(days=1)
        return sorted(official + rows)

    def update(
        self, order_id: str, *, at: str, filled: int | None = None, average_price: float = 0.0, status: str = ""
    ) -> dict:
        """Kite changes an order at `at` (IST, Kite's format): fills it to `filled` in all at
        `average_price` on average (COMPLETE once all is filled, else OPEN), or gives it `status`
        (CANCELLED, REJECTED). Its order book changes, and the update Kite then sends (a postback or a
        ticker order message, on the official postback's fields) is returned, checksum included."""
        order = self.orders[order_id]
        quantity = int(order["quantity"])
        if filled is not None:
            order.update(filled_quantity=filled, average_price=average_price)
            status = status or ("COMPLETE" if filled == quantity else "OPEN")
        done = int(order.get("filled_quantity") or 0)
        order.update(status=status, pending_quantity=quantity - done, exchange_update_timestamp=at)
        checksum = hashlib.sha256(f"{order_id}{order['order_timestamp']}{self.api_secret}".encode()).hexdigest()
        return {**fixture("postback.json"), **order, "quantity": quantity, "checksum": checksum}

    def filled(self) -> list[dict]:
        return [order for order in self.orders.values() if int(order.get("filled_quantity") or 0) > 0]

    def trades(self) -> list[dict]:
        """One trade per filled order, for its filled quantity at its average price."""
        template = fixture("trades.json")["data"][0]
        return [
            {
                **template,
                "trade_id": str(10000000 + n),
                "order_id": order["order_id"],
                "exchange": order["exchange"],
                "tradingsymbol": order["tradingsymbol"],
                "product": order["product"],
                "transaction_type": order["transaction_type"],
                "quantity": int(order["filled_quantity"]),
                "average_price": float(order.get("average_price") or 0),
            }
            for n, order in enumerate(self.filled())
        ]

    def positions(self) -> dict:
        """Today's positions from the filled orders: net and day are the same (no overnight positions)."""
        template = fixture("positions.json")["data"]["net"][0]
        net: dict[tuple, int] = {}
        for order in self.filled():
            key = (order["exchange"], order["tradingsymbol"], order["product"])
            sign = 1 if order["transaction_type"] == "BUY" else -1
            net[key] = net.get(key, 0) + sign * int(order["filled_quantity"])
        rows = [
            {**template, "exchange": e, "tradingsymbol": t, "product": p, "quantity": q, "overnight_quantity": 0}
            for (e, t, p), q in net.items()
        ]
        return {"net": rows, "day": [dict(row) for row in rows]}

    def start(self) -> "FakeKite":
        fixture("generate_session.json")  # skips the test, with the reason, when the fixtures are absent
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def params(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                return {**dict(parse_qsl(urlsplit(self.path).query)), **dict(parse_qsl(body))}

            def answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def error(self, status: int, error_type: str, message: str) -> None:
                self.answer(status, {"status": "error", "message": message, "data": None, "error_type": error_type})

            def do_GET(self):
                path, params = urlsplit(self.path).path, self.params()
                fake.calls.append(("GET", path, params))
                if path == "/connect/login":
                    if params.get("api_key") != fake.api_key:
                        self.error(400, "InputException", "Invalid `api_key`.")
                        return
                    token = secrets.token_hex(16)
                    fake.request_tokens.add(token)
                    back = dict(parse_qsl(params.get("redirect_params", "")))
                    query = {**back, "request_token": token, "action": "login", "status": "success"}
                    self.send_response(302)
                    self.send_header("Location", f"{fake.redirect_url}?{urlencode(query)}")
                    self.end_headers()
                    return
                portfolio = {
                    "/trades": fake.trades,
                    "/portfolio/positions": fake.positions,
                    "/portfolio/holdings": lambda: [
                        {**fixture("holdings.json")["data"][0], **row} for row in fake.holdings
                    ],
                }
                if path.startswith("/instruments"):
                    self.instruments(path, params)
                    return
                if path in portfolio:
                    if self.authorised():
                        self.answer(200, {"status": "success", "data": portfolio[path]()})
                    return
                if path == "/orders":
                    if self.authorised():
                        template = fixture("orders.json")["data"][0]
                        rows = [
                            {**template, **order, "quantity": int(order["quantity"])} for order in fake.orders.values()
                        ]
                        self.answer(200, {"status": "success", "data": rows})
                    return
                self.error(404, "GeneralException", "Route not found")

            def instruments(self, path: str, params: dict) -> None:
                if not self.authorised():
                    return
                parts = path.strip("/").split("/")
                if len(parts) == 4 and parts[1] == "historical":
                    self.historical(parts[3], params)
                    return
                name = "instruments_nse.csv" if parts[1:] == ["NSE"] else "instruments_all.csv"
                fixture("generate_session.json")  # the fixtures are there
                data = (FIXTURES / name).read_bytes()
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def historical(self, interval: str, params: dict) -> None:
                start = datetime.strptime(params["from"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST_ZONE)
                end = datetime.strptime(params["to"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST_ZONE)
                now = time.monotonic()
                recent = [at for at, _, _ in fake.historical if now - at < 1.0]
                fake.historical.append((now, start, end))
                behaviour = fake.next_historical.pop(0) if fake.next_historical else ""
                if behaviour == "429" or len(recent) >= 3:  # Kite's limit: 3 historical requests a second
                    fake.rate_limited += 1
                    self.error(429, "NetworkException", "Too many requests")
                    return
                limit = {"minute": 60, "day": 2000}[interval]
                if (end - start).days > limit:
                    self.error(400, "InputException", f"interval exceeds max limit: {limit} days")
                    return
                self.answer(200, {"status": "success", "data": {"candles": fake.candles(interval, start, end)}})

            def authorised(self) -> bool:
                scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
                key, _, token = credentials.partition(":")
                if scheme != "token" or key != fake.api_key or token not in fake.access_tokens:
                    self.error(403, "TokenException", "Incorrect `api_key` or `access_token`.")
                    return False
                return True

            def do_PUT(self):
                path, params = urlsplit(self.path).path, self.params()
                fake.calls.append(("PUT", path, params))
                if self.authorised():
                    order_id = path.rsplit("/", 1)[-1]
                    fake.orders[order_id].update(params)
                    self.answer(200, {"status": "success", "data": {"order_id": order_id}})

            def place(self, params: dict) -> None:
                behaviour = fake.next_place.pop(0) if fake.next_place else ""
                if behaviour == "429":
                    self.error(429, "NetworkException", "Too many requests")
                    return
                if behaviour == "reject":
                    self.error(
                        400,
                        "InputException",
                        "Tick size for this script is 0.05. Kindly enter the price in the multiple of tick size.",
                    )
                    return
                order_id = str(151220000000000 + len(fake.orders))
                fake.orders[order_id] = {
                    **params,
                    "order_id": order_id,
                    "status": "OPEN",
                    "order_timestamp": datetime.now(IST_ZONE).strftime("%Y-%m-%d %H:%M:%S"),
                }
                if behaviour == "timeout_after_accept":
                    time.sleep(fake.answer_delay_seconds)
                self.answer(200, {"status": "success", "data": {"order_id": order_id}})

            def do_POST(self):
                path, params = urlsplit(self.path).path, self.params()
                fake.calls.append(("POST", path, params))
                if path == "/orders/regular":
                    if self.authorised():
                        self.place(params)
                    return
                if path != "/session/token":
                    self.error(404, "GeneralException", "Route not found")
                    return
                expected = hashlib.sha256(
                    (fake.api_key + params.get("request_token", "") + fake.api_secret).encode()
                ).hexdigest()
                if params.get("checksum") != expected:
                    self.error(403, "TokenException", "Invalid `checksum`.")
                    return
                if params.get("request_token") not in fake.request_tokens:
                    self.error(403, "TokenException", "Token is invalid or has expired.")
                    return
                fake.request_tokens.discard(params["request_token"])
                session = fixture("generate_session.json")
                access_token = secrets.token_hex(16)
                fake.access_tokens.add(access_token)
                session["data"].update(api_key=fake.api_key, access_token=access_token, user_id="ZX1234")
                self.answer(200, session)

            def do_DELETE(self):
                path, params = urlsplit(self.path).path, self.params()
                fake.calls.append(("DELETE", path, params))
                if path.startswith("/orders/regular/"):
                    if self.authorised():
                        order_id = path.rsplit("/", 1)[-1]
                        fake.orders[order_id]["status"] = "CANCELLED"
                        self.answer(200, {"status": "success", "data": {"order_id": order_id}})
                    return
                if path == "/session/token" and params.get("access_token") in fake.access_tokens:
                    fake.access_tokens.discard(params["access_token"])
                    fake.invalidated.add(params["access_token"])
                    self.answer(200, fixture("session_logout.json"))
                    return
                self.error(403, "TokenException", "Incorrect `api_key` or `access_token`.")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ticker_packet(name: str) -> bytes:
    """One of the official ticker packets (`ticker_quote`, `ticker_full`), without the frame header."""
    path = FIXTURES / f"{name}.packet"
    if not path.exists():
        pytest.skip(f"the Kite ticker packets are not at {FIXTURES} (../shared/fixtures/kite-mocks)")
    return base64.b64decode(path.read_text())


def packet_with(
    packet: bytes, *, token: int | None = None, paise: int | None = None, volume: int | None = None, at=None
) -> bytes:
    """A copy of a quote or full packet for another instrument, last price (in paise), day volume, or
    (full packets) last trade and exchange time."""
    data = bytearray(packet)
    if at is not None:
        data[44:48] = data[60:64] = struct.pack(">I", int(at.timestamp()))
    if token is not None:
        data[0:4] = struct.pack(">I", token)
    if paise is not None:
        data[4:8] = struct.pack(">I", paise)
    if volume is not None:
        data[16:20] = struct.pack(">I", volume)
    return bytes(data)


def ticker_frame(packets: list[bytes]) -> bytes:
    """Kite's binary frame: a uint16 packet count, then each packet after its uint16 length."""
    return struct.pack(">H", len(packets)) + b"".join(struct.pack(">H", len(p)) + p for p in packets)


@dataclass
class TickerConnection:
    socket: object
    access_token: str
    modes: dict[int, str] = field(default_factory=dict)  # instrument token -> mode
    messages: list[dict] = field(default_factory=list)


@dataclass
class FakeTicker:
    """Kite's websocket on loopback: connections authenticated by api_key and access_token in the query
    string; `subscribe`, `unsubscribe` and `mode` messages as Kite takes them (a new subscription streams
    in quote mode); binary tick frames carrying, per connection, only the instruments it subscribed and
    in its mode; text order messages; and `drop()`, which cuts every connection without a close frame."""

    api_key: str
    access_tokens: set[str]
    connections: list[TickerConnection] = field(default_factory=list)
    opened: int = 0
    refused: int = 0
    refuse: bool = False  # refuse every connection (the network is down)

    def start(self) -> "FakeTicker":
        from websockets.sync.server import serve

        ticker_packet("ticker_full")  # skips the test, with the reason, when the fixtures are absent
        self.lock = threading.Lock()
        self.server = serve(self.handle, "127.0.0.1", 0, process_request=self.check, compression=None)
        self.root = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def check(self, connection, request):
        query = dict(parse_qsl(urlsplit(request.path).query))
        if self.refuse:
            with self.lock:
                self.refused += 1
            return connection.respond(503, "Service unavailable")
        if query.get("api_key") != self.api_key or query.get("access_token") not in self.access_tokens:
            with self.lock:
                self.refused += 1
            return connection.respond(403, "Invalid api_key or access_token")
        return None

    def handle(self, websocket) -> None:
        from websockets.exceptions import ConnectionClosed

        query = dict(parse_qsl(urlsplit(websocket.request.path).query))
        connection = TickerConnection(websocket, query["access_token"])
        with self.lock:
            self.connections.append(connection)
            self.opened += 1
        try:
            for text in websocket:
                message = json.loads(text)
                with self.lock:
                    connection.messages.append(message)
                    action, value = message.get("a"), message.get("v")
                    if action == "subscribe":
                        for token in value:
                            connection.modes.setdefault(int(token), "quote")
                    elif action == "unsubscribe":
                        for token in value:
                            connection.modes.pop(int(token), None)
                    elif action == "mode":
                        mode, tokens = value
                        for token in tokens:
                            if int(token) in connection.modes:
                                connection.modes[int(token)] = mode
        except ConnectionClosed:
            pass
        finally:
            with self.lock:
                if connection in self.connections:
                    self.connections.remove(connection)

    def live(self) -> list[TickerConnection]:
        with self.lock:
            return list(self.connections)

    def subscribed(self) -> dict[int, str]:
        """Every instrument some connection streams, and its mode."""
        return {token: mode for connection in self.live() for token, mode in connection.modes.items()}

    def send_ticks(self, packet_for) -> int:
        """`packet_for(token, mode)` gives each subscribed instrument's packet (None: no tick); each
        connection gets one frame of its own instruments. Returns the number of packets sent."""
        sent = 0
        for connection in self.live():
            packets = [p for token, mode in list(connection.modes.items()) if (p := packet_for(token, mode))]
            if packets:
                try:
                    connection.socket.send(ticker_frame(packets))
                    sent += len(packets)
                except Exception:  # noqa: S112 - a connection closing under us misses this frame
                    continue
        return sent

    def send_order(self, update: dict) -> None:
        """An order message, as Kite sends it to every connection of the order's user."""
        for connection in self.live():
            connection.socket.send(json.dumps({"type": "order", "data": update}))

    def drop(self) -> None:
        """The network fails: every connection is cut at the TCP level, no close frame."""
        for connection in self.live():
            with contextlib.suppress(OSError):
                connection.socket.socket.shutdown(socket.SHUT_RDWR)


def wait_until(predicate, timeout: float = 10.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.02)
