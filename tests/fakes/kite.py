"""A fake Kite Connect on loopback, speaking Kite's wire formats, for the real kiteconnect client.

HTTP: form-encoded requests; answers in Kite's `{"status": "success", "data": ...}` envelope or its
error envelope `{"status": "error", "message": ..., "error_type": ...}` with Kite's HTTP status codes.
Answers are seeded from the official mock responses in ../shared/fixtures/kite-mocks/.
The login page (`/connect/login`) stands in for Kite's: it sends the browser to the app's redirect URL
with a request_token, the `redirect_params` it was given, `status=success` and `action=login`.
"""

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

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
                if path == "/orders":
                    if self.authorised():
                        template = fixture("orders.json")["data"][0]
                        rows = [
                            {**template, **order, "quantity": int(order["quantity"])} for order in fake.orders.values()
                        ]
                        self.answer(200, {"status": "success", "data": rows})
                    return
                self.error(404, "GeneralException", "Route not found")

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
                fake.orders[order_id] = {**params, "order_id": order_id, "status": "OPEN"}
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
