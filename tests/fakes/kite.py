"""A fake Kite Connect on loopback, speaking Kite's wire formats, for the real kiteconnect client.

HTTP: form-encoded requests; answers in Kite's `{"status": "success", "data": ...}` envelope or its
error envelope `{"status": "error", "message": ..., "error_type": ...}` with Kite's HTTP status codes.
Every answer is built here from the formats Kite documents (orders, trades, positions, holdings,
postbacks, sessions, the instrument dump, candles); nothing is read from outside the project. The
official mock responses in ../shared/fixtures/kite-mocks/ are used only by the conformance tests, which
check that these answers have the official ones' shape (tests/trading/test_kite_conformance.py).
The websocket (`FakeTicker`) streams binary tick frames built from Kite's documented packet layout.
The login page (`/connect/login`) stands in for Kite's: it sends the browser to the app's redirect URL
with a request_token, the `redirect_params` it was given, `status=success` and `action=login`.
"""

import contextlib
import csv
import hashlib
import io
import json
import secrets
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests.fakes.http import json_answer

IST_ZONE = timezone(timedelta(hours=5, minutes=30))
FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "kite-mocks"
USER_ID = "ZX1234"
TERMINAL = {"COMPLETE", "CANCELLED", "REJECTED"}
# Kite's instrument dump: its documented columns, and a few NSE rows.
INSTRUMENT_COLUMNS = [
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
]
INSTRUMENTS = [
    {"instrument_token": 408065, "tradingsymbol": "INFY", "name": "INFOSYS"},
    {"instrument_token": 738561, "tradingsymbol": "RELIANCE", "name": "RELIANCE INDUSTRIES"},
    {"instrument_token": 779521, "tradingsymbol": "SBIN", "name": "STATE BANK OF INDIA"},
    {"instrument_token": 3813889, "tradingsymbol": "CENTRALBK-BE", "name": "CENTRAL BANK OF INDIA"},
    {"instrument_token": 2953217, "tradingsymbol": "TCS", "name": "TATA CONSULTANCY SERV LT"},
]
# The day for which the fake has a minute-by-minute session of candles (other weekdays have one).
DETAILED_DAY = date(2017, 12, 15)


def fixture(name: str) -> dict:
    """One of the official mock responses, for conformance tests: they skip, saying why, without them."""
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"the official Kite mock responses are not at {FIXTURES} (../shared/fixtures/kite-mocks)")
    return json.loads(path.read_text())


def kite_now() -> str:
    return datetime.now(IST_ZONE).strftime("%Y-%m-%d %H:%M:%S")


def detailed_candles() -> list[list]:
    """Ten minutes of INFY-like candles on DETAILED_DAY from 09:15 IST, in Kite's candle form."""
    rows, price = [], 1704.5
    for minute in range(10):
        at = datetime.combine(DETAILED_DAY, dtime(9, 15 + minute), tzinfo=IST_ZONE)
        close = round(price + (minute % 3 - 1) * 1.25, 2)
        high, low = max(price, close) + 0.5, min(price, close) - 0.75
        rows.append([at.strftime("%Y-%m-%dT%H:%M:%S%z"), price, high, low, close, 2499 - 97 * minute])
        price = close
    return rows


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
    # "timeout_after_accept" (the order is taken, the answer comes after the client has given up), or
    # "delay" (the order is taken, the answer comes after answer_delay_seconds, within the timeout).
    orders: dict[str, dict] = field(default_factory=dict)
    next_place: list[str] = field(default_factory=list)
    answer_delay_seconds: float = 3.0
    # Each order's trade records (Kite's trade book), by Kite order id, and each order's states.
    order_trades: dict[str, list[dict]] = field(default_factory=dict)
    history: dict[str, list[dict]] = field(default_factory=dict)
    # Holdings (delivered shares) the account has at Kite: rows over the documented holding fields.
    holdings: list[dict] = field(default_factory=list)
    instruments: list[dict] = field(default_factory=lambda: [dict(row) for row in INSTRUMENTS])
    # Historical requests as (monotonic time, from, to), and what the next ones meet ("429").
    historical: list[tuple[float, datetime, datetime]] = field(default_factory=list)
    next_historical: list[str] = field(default_factory=list)
    rate_limited: int = 0
    # What the next modifications meet ("reject": Kite refuses it), and a hook run while Kite handles one
    # (before it answers), for what happens meanwhile.
    next_modify: list[str] = field(default_factory=list)
    on_modify: object = None
    # Kite's order book cannot be read (gateway timeouts); its trade book lags: the next reads are empty.
    orders_down: bool = False
    trades_lagging: int = 0
    # Kite has stopped answering: every request waits this long, then the connection closes unanswered.
    unresponsive_seconds: float = 0.0
    unanswered: int = 0  # requests that met it
    # When Kite says its orders were placed (IST): tests write their updates' times after it.
    placed_at: str = "2026-11-24 09:15:00"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def candles(self, interval: str, start: datetime, end: datetime) -> list[list]:
        """DETAILED_DAY's minute session where the range covers it; elsewhere one candle at 09:15 on each
        weekday (daily candles: one a weekday), so a long range has candles in every span."""
        detailed = (
            [row for row in detailed_candles() if start <= datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S%z") <= end]
            if interval == "minute"
            else []
        )
        covered = {row[0][:10] for row in detailed}
        rows = []
        day = start.date()
        while day <= end.date():
            at = datetime.combine(day, dtime(9, 15) if interval == "minute" else dtime(0, 0), tzinfo=IST_ZONE)
            if day.weekday() < 5 and day.isoformat() not in covered and start <= at <= end:
                rows.append([at.strftime("%Y-%m-%dT%H:%M:%S%z"), 1700.0, 1701.5, 1699.0, 1700.5, 100])
            day += timedelta(days=1)
        return sorted(detailed + rows)

    def checksum(self, order: dict) -> str:
        return hashlib.sha256(f"{order['order_id']}{order['order_timestamp']}{self.api_secret}".encode()).hexdigest()

    def message(self, order_id: str) -> dict:
        """The update Kite sends for the order as it is now (a postback, or a ticker order message):
        the documented postback fields, checksum included."""
        order = self.orders[order_id]
        return {
            "user_id": USER_ID,
            "unfilled_quantity": int(order["pending_quantity"]),
            "app_id": 1234,
            "checksum": self.checksum(order),
            **{k: v for k, v in order.items() if k not in ("modified", "placed_by")},
            "placed_by": USER_ID,
        }

    def state(self, order_id: str, at: str, **changes) -> dict:
        order = self.orders[order_id]
        order.update(changes, exchange_update_timestamp=at)
        quantity, done = int(order["quantity"]), int(order["filled_quantity"])
        if order["status"] in TERMINAL - {"COMPLETE"}:
            order["cancelled_quantity"], order["pending_quantity"] = quantity - done, 0
        else:
            order["pending_quantity"] = quantity - done
        self.history.setdefault(order_id, []).append(dict(order))
        return self.message(order_id)

    def fill(self, order_id: str, quantity: int, price: float, *, at: str | None = None) -> dict:
        """The exchange trades `quantity` of the order at `price`: a trade record (its own trade id and
        fill time) joins the trade book, the order's filled quantity and average price move as Kite's do
        (COMPLETE once all is filled), and the update Kite then sends is returned."""
        at = at or kite_now()
        with self.lock:
            order = self.orders[order_id]
            trades = self.order_trades.setdefault(order_id, [])
            trade_id = str(10_000_000 + sum(len(t) for t in self.order_trades.values()))
            trades.append(
                {
                    "trade_id": trade_id,
                    "order_id": order_id,
                    "exchange": order["exchange"],
                    "tradingsymbol": order["tradingsymbol"],
                    "instrument_token": order["instrument_token"],
                    "product": order["product"],
                    "average_price": price,
                    "quantity": quantity,
                    "exchange_order_id": order["exchange_order_id"],
                    "transaction_type": order["transaction_type"],
                    "fill_timestamp": at,
                    "order_timestamp": at[11:],
                    "exchange_timestamp": at,
                }
            )
            filled = sum(t["quantity"] for t in trades)
            average = sum(t["quantity"] * t["average_price"] for t in trades) / filled
            status = "COMPLETE" if filled == int(order["quantity"]) else "OPEN"
            return self.state(order_id, at, filled_quantity=filled, average_price=average, status=status)

    def update(
        self, order_id: str, *, at: str, filled: int | None = None, average_price: float = 0.0, status: str = ""
    ) -> dict:
        """Kite changes an order at `at` (IST, Kite's format): fills it to `filled` in all at
        `average_price` on average (one trade for what is new, at the price that makes that average), or
        gives it `status` (CANCELLED, REJECTED). Returns the update Kite then sends."""
        if filled is not None and filled != int(self.orders[order_id]["filled_quantity"]):
            order = self.orders[order_id]
            before, average = int(order["filled_quantity"]), float(order["average_price"])
            price = round((average_price * filled - average * before) / (filled - before), 2)
            message = self.fill(order_id, filled - before, price, at=at)
            if not status:
                return message
        with self.lock:
            return self.state(order_id, at, status=status or self.orders[order_id]["status"])

    def trades(self) -> list[dict]:
        """Today's trade book: every trade record of every order."""
        with self.lock:
            return [dict(t) for trades in self.order_trades.values() for t in trades]

    def filled(self) -> list[dict]:
        return [order for order in self.orders.values() if int(order.get("filled_quantity") or 0) > 0]

    def positions(self) -> dict:
        """Today's positions from the filled orders: net and day are the same (no overnight positions)."""
        net: dict[tuple, list] = {}
        for order in self.filled():
            key = (order["exchange"], order["tradingsymbol"], order["product"], order["instrument_token"])
            sign = 1 if order["transaction_type"] == "BUY" else -1
            row = net.setdefault(key, [0, 0.0])
            row[0] += sign * int(order["filled_quantity"])
            row[1] += float(order["average_price"])
        rows = [
            {
                "tradingsymbol": t,
                "exchange": e,
                "instrument_token": token,
                "product": p,
                "quantity": q,
                "overnight_quantity": 0,
                "multiplier": 1,
                "average_price": price,
                "close_price": 0,
                "last_price": price,
                "value": -q * price,
                "pnl": 0,
                "m2m": 0,
                "unrealised": 0,
                "realised": 0,
                "buy_quantity": max(q, 0),
                "buy_price": price if q > 0 else 0,
                "buy_value": max(q, 0) * price,
                "buy_m2m": 0,
                "sell_quantity": max(-q, 0),
                "sell_price": price if q < 0 else 0,
                "sell_value": max(-q, 0) * price,
                "sell_m2m": 0,
                "day_buy_quantity": max(q, 0),
                "day_buy_price": price if q > 0 else 0,
                "day_buy_value": max(q, 0) * price,
                "day_sell_quantity": max(-q, 0),
                "day_sell_price": price if q < 0 else 0,
                "day_sell_value": max(-q, 0) * price,
            }
            for (e, t, p, token), (q, price) in net.items()
        ]
        return {"net": rows, "day": [dict(row) for row in rows]}

    def holding_rows(self) -> list[dict]:
        template = {
            "tradingsymbol": "",
            "exchange": "NSE",
            "instrument_token": 0,
            "isin": "",
            "product": "CNC",
            "price": 0,
            "quantity": 0,
            "used_quantity": 0,
            "t1_quantity": 0,
            "realised_quantity": 0,
            "authorised_quantity": 0,
            "authorised_date": "",
            "authorisation": {},
            "short_quantity": 0,
            "opening_quantity": 0,
            "collateral_quantity": 0,
            "collateral_type": "",
            "discrepancy": False,
            "average_price": 0,
            "last_price": 0,
            "close_price": 0,
            "pnl": 0,
            "day_change": 0,
            "day_change_percentage": 0,
        }
        return [{**template, **row} for row in self.holdings]

    def session(self, access_token: str) -> dict:
        return {
            "user_type": "individual",
            "email": "trader@example.com",
            "user_name": "Kite Connect",
            "user_shortname": "Connect",
            "broker": "ZERODHA",
            "exchanges": ["NSE", "NFO", "BFO", "CDS", "BSE", "MCX", "BCD", "MF"],
            "products": ["CNC", "NRML", "MIS", "BO", "CO"],
            "order_types": ["MARKET", "LIMIT", "SL", "SL-M"],
            "avatar_url": "",
            "user_id": USER_ID,
            "api_key": self.api_key,
            "access_token": access_token,
            "public_token": secrets.token_hex(8),
            "enctoken": "",
            "refresh_token": "",
            "silo": "",
            "login_time": kite_now(),
            "meta": {"demat_consent": "physical"},
        }

    def instrument_dump(self, exchange: str | None) -> bytes:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=INSTRUMENT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in self.instruments:
            full = {
                "exchange_token": row["instrument_token"] // 256,
                "last_price": 0.0,
                "expiry": "",
                "strike": 0.0,
                "tick_size": 0.05,
                "lot_size": 1,
                "instrument_type": "EQ",
                "segment": "NSE",
                "exchange": "NSE",
                **row,
            }
            if exchange in (None, full["exchange"]):
                writer.writerow(full)
        return out.getvalue().encode()

    def order_new(self, params: dict) -> str:
        order_id = str(151220000000000 + len(self.orders))
        now = self.placed_at
        instrument = next((i for i in self.instruments if i["tradingsymbol"] == params.get("tradingsymbol")), {})
        self.orders[order_id] = {
            "placed_by": USER_ID,
            "order_id": order_id,
            "exchange_order_id": str(1300000000000000 + len(self.orders)),
            "parent_order_id": None,
            "status": "OPEN",
            "status_message": None,
            "status_message_raw": None,
            "order_timestamp": now,
            "exchange_update_timestamp": now,
            "exchange_timestamp": now,
            "variety": "regular",
            "modified": False,
            "exchange": params.get("exchange", "NSE"),
            "tradingsymbol": params.get("tradingsymbol", ""),
            "instrument_token": instrument.get("instrument_token", 0),
            "order_type": params.get("order_type", "MARKET"),
            "transaction_type": params.get("transaction_type", "BUY"),
            "validity": params.get("validity", "DAY"),
            "product": params.get("product", "CNC"),
            "quantity": int(params.get("quantity") or 0),
            "disclosed_quantity": int(params.get("disclosed_quantity") or 0),
            "price": float(params.get("price") or 0),
            "trigger_price": float(params.get("trigger_price") or 0),
            "average_price": 0.0,
            "filled_quantity": 0,
            "pending_quantity": int(params.get("quantity") or 0),
            "cancelled_quantity": 0,
            "market_protection": int(params.get("market_protection") or 0),
            "meta": {},
            "tag": params.get("tag"),
            "tags": [params["tag"]] if params.get("tag") else [],
            "guid": secrets.token_hex(6),
            # What the client sent, as it sent it (form fields are text).
            "sent": dict(params),
        }
        self.history[order_id] = [dict(self.orders[order_id])]
        return order_id

    def order_elsewhere(self, **params) -> str:
        """An order placed at Kite outside the platform (Kite's own app, say): no tag of ours."""
        with self.lock:
            return self.order_new({"exchange": "NSE", "order_type": "LIMIT", "product": "CNC", **params})

    def public(self, order: dict) -> dict:
        return {k: v for k, v in order.items() if k != "sent"}

    def start(self) -> "FakeKite":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def params(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                return {**dict(parse_qsl(urlsplit(self.path).query)), **dict(parse_qsl(body))}

            def answer(self, status: int, body: dict) -> None:
                json_answer(self, status, body)

            def ok(self, data) -> None:
                self.answer(200, {"status": "success", "data": data})

            def error(self, status: int, error_type: str, message: str) -> None:
                self.answer(status, {"status": "error", "message": message, "data": None, "error_type": error_type})

            def do_GET(self):
                if self.unresponsive():
                    return
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
                if path.startswith("/instruments"):
                    self.instruments(path, params)
                    return
                if not self.authorised():
                    return
                parts = path.strip("/").split("/")
                if path == "/orders" and fake.orders_down:
                    self.error(504, "NetworkException", "Gateway timed out")
                    return
                if path == "/trades" and fake.trades_lagging:
                    fake.trades_lagging -= 1
                    self.ok([])
                    return
                portfolio = {
                    "/trades": fake.trades,
                    "/portfolio/positions": fake.positions,
                    "/portfolio/holdings": fake.holding_rows,
                    "/orders": lambda: [fake.public(order) for order in fake.orders.values()],
                }
                if path in portfolio:
                    self.ok(portfolio[path]())
                elif parts[0] == "orders" and len(parts) in (2, 3) and parts[1] in fake.orders:
                    if len(parts) == 3 and parts[2] == "trades":
                        self.ok([dict(t) for t in fake.order_trades.get(parts[1], [])])
                    elif len(parts) == 2:
                        self.ok([fake.public(state) for state in fake.history.get(parts[1], [])])
                    else:
                        self.error(404, "GeneralException", "Route not found")
                elif parts[0] == "orders":
                    self.error(400, "InputException", "Couldn't find that `order_id`.")
                else:
                    self.error(404, "GeneralException", "Route not found")

            def instruments(self, path: str, params: dict) -> None:
                if not self.authorised():
                    return
                parts = path.strip("/").split("/")
                if len(parts) == 4 and parts[1] == "historical":
                    self.historical(parts[3], params)
                    return
                data = fake.instrument_dump(parts[1] if len(parts) > 1 else None)
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
                self.ok({"candles": fake.candles(interval, start, end)})

            def authorised(self) -> bool:
                scheme, _, credentials = self.headers.get("Authorization", "").partition(" ")
                key, _, token = credentials.partition(":")
                if scheme != "token" or key != fake.api_key or token not in fake.access_tokens:
                    self.error(403, "TokenException", "Incorrect `api_key` or `access_token`.")
                    return False
                return True

            def order_of(self, path: str) -> dict | None:
                order = fake.orders.get(path.rsplit("/", 1)[-1])
                if order is None:
                    self.error(400, "InputException", "Couldn't find that `order_id`.")
                return order

            def do_PUT(self):
                if self.unresponsive():
                    return
                path, params = urlsplit(self.path).path, self.params()
                fake.calls.append(("PUT", path, params))
                if not self.authorised() or (order := self.order_of(path)) is None:
                    return
                refused = ""
                with fake.lock:
                    if fake.next_modify and fake.next_modify.pop(0) == "reject":
                        refused = "Order cannot be modified as it is being processed. Try later."
                    elif order["status"] in TERMINAL:
                        refused = f"Order cannot be modified as it is {order['status']}."
                    else:
                        order["sent"].update(params)
                        changes = {name: params[name] for name in ("order_type", "validity") if name in params}
                        for name in ("quantity", "disclosed_quantity"):
                            if name in params:
                                changes[name] = int(params[name])
                        for name in ("price", "trigger_price"):
                            if name in params:
                                changes[name] = float(params[name])
                        fake.state(order["order_id"], kite_now(), modified=True, **changes)
                if fake.on_modify is not None:  # what happens at Kite before its answer leaves
                    fake.on_modify(order["order_id"], params)
                if refused:
                    self.error(400, "InputException", refused)
                    return
                self.ok({"order_id": order["order_id"]})

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
                with fake.lock:
                    order_id = fake.order_new(params)
                if behaviour in ("timeout_after_accept", "delay"):
                    time.sleep(fake.answer_delay_seconds)
                self.ok({"order_id": order_id})

            def unresponsive(self) -> bool:
                if not fake.unresponsive_seconds:
                    return False
                with fake.lock:
                    fake.unanswered += 1
                time.sleep(fake.unresponsive_seconds)
                self.close_connection = True
                return True

            def do_POST(self):
                if self.unresponsive():
                    return
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
                access_token = secrets.token_hex(16)
                fake.access_tokens.add(access_token)
                self.ok(fake.session(access_token))

            def do_DELETE(self):
                if self.unresponsive():
                    return
                path, params = urlsplit(self.path).path, self.params()
                fake.calls.append(("DELETE", path, params))
                if path.startswith("/orders/regular/"):
                    if not self.authorised() or (order := self.order_of(path)) is None:
                        return
                    with fake.lock:
                        if order["status"] in TERMINAL:
                            self.error(400, "InputException", f"Order cannot be cancelled as it is {order['status']}.")
                            return
                        fake.state(order["order_id"], kite_now(), status="CANCELLED")
                    self.ok({"order_id": order["order_id"]})
                    return
                if path == "/session/token" and params.get("access_token") in fake.access_tokens:
                    fake.access_tokens.discard(params["access_token"])
                    fake.invalidated.add(params["access_token"])
                    self.ok(True)
                    return
                self.error(403, "TokenException", "Incorrect `api_key` or `access_token`.")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.root = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def paise(value: float) -> int:
    return round(value * 100)


def quote_packet(
    token: int,
    last_price: float,
    *,
    last_quantity: int = 0,
    average_price: float = 0.0,
    volume: int = 0,
    buy_quantity: int = 0,
    sell_quantity: int = 0,
    ohlc: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0),
) -> bytes:
    """A quote-mode packet as Kite documents it: 11 big-endian int32s (prices in paise), 44 bytes."""
    return struct.pack(
        ">11i",
        token,
        paise(last_price),
        last_quantity,
        paise(average_price),
        volume,
        buy_quantity,
        sell_quantity,
        *(paise(price) for price in ohlc),
    )


def full_packet(
    token: int,
    last_price: float,
    *,
    last_trade_time: datetime,
    timestamp: datetime,
    oi: tuple[int, int, int] = (0, 0, 0),
    buy: list[tuple[int, float, int]] = (),
    sell: list[tuple[int, float, int]] = (),
    **quote,
) -> bytes:
    """A full-mode packet: the quote fields, last trade time, OI, OI day high and low, exchange time, then
    five bid and five offer levels of (quantity int32, price int32, orders int16, 2 bytes) - 184 bytes."""
    levels = list(buy) + [(0, 0.0, 0)] * (5 - len(buy)) + list(sell) + [(0, 0.0, 0)] * (5 - len(sell))
    depth = b"".join(struct.pack(">iih2x", quantity, paise(price), orders) for quantity, price, orders in levels)
    return (
        quote_packet(token, last_price, **quote)
        + struct.pack(">5i", int(last_trade_time.timestamp()), *oi, int(timestamp.timestamp()))
        + depth
    )


# Kite's documented example of a full tick (INFY, 5 July 2021), the fake's default full packet.
SAMPLE_AT = datetime(2021, 7, 5, 10, 41, 27, tzinfo=IST_ZONE)
SAMPLE_FULL = {
    "last_quantity": 7,
    "average_price": 1570.37,
    "volume": 1192471,
    "buy_quantity": 256443,
    "sell_quantity": 363009,
    "ohlc": (1569.15, 1575.0, 1561.05, 1567.8),
    "buy": [(5, 1573.4, 1), (140, 1573.0, 2), (2, 1572.95, 1), (219, 1572.9, 7), (50, 1572.85, 1)],
    "sell": [(172, 1573.7, 3), (44, 1573.75, 3), (302, 1573.85, 3), (141, 1573.9, 2), (724, 1573.95, 5)],
}


def sample_full_packet() -> bytes:
    return full_packet(408065, 1573.7, last_trade_time=SAMPLE_AT, timestamp=SAMPLE_AT, **SAMPLE_FULL)


def ticker_packet(name: str) -> bytes:
    """One of the official ticker packets (`ticker_quote`, `ticker_full`), without the frame header:
    for conformance tests, which skip, saying why, without them."""
    import base64

    path = FIXTURES / f"{name}.packet"
    if not path.exists():
        pytest.skip(f"the official Kite ticker packets are not at {FIXTURES} (../shared/fixtures/kite-mocks)")
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


def linked_account(*, owner, name: str, cash, api_key: str, api_secret: str, access_token: str):
    """A Kite account of `owner`, linked to the app `api_key` and logged in for the day with `access_token`
    (which the fake must know): what a trader has after linking Kite at /kite/."""
    from django.utils import timezone

    from trading.kite.client import token_expiry
    from trading.models import KiteLink, TradingAccount
    from trading.orders.accounts import account_create
    from tradingsite.encryption import encrypt

    account = account_create(owner=owner, name=name, cash=cash, broker=TradingAccount.Broker.KITE, created_by=owner)
    now = timezone.now()
    KiteLink.objects.create(
        account=account,
        api_key=api_key,
        api_secret_encrypted=encrypt(api_secret),
        access_token_encrypted=encrypt(access_token),
        kite_user_id=USER_ID,
        logged_in_at=now,
        expires_at=token_expiry(now),
    )
    return account
