"""HTTP through the ASGI application (what daphne serves): the WSGI bridge and the whole stack behind it."""

import asyncio
import json
from decimal import Decimal

import pytest
from asgiref.testing import ApplicationCommunicator

from tests.factories import OrderBody
from tests.trading.conftest import instrument_make
from trading.orders.accounts import account_create
from tradingsite.tokens import api_token_create
from tradingsite.wsgi_bridge import BUFFER_LIMIT, WsgiBridge


def http_scope(method: str, path: str, headers: list[tuple[bytes, bytes]] = ()) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("203.0.113.9", 50123),
        "server": ("127.0.0.1", 8000),
    }


def exchange(application, scope: dict, body_parts: list[bytes] = (b"",)) -> tuple[dict, list[dict]]:
    """Send a request (its body in parts) and collect the response start and its body messages."""

    async def go():
        communicator = ApplicationCommunicator(application, scope)
        for index, part in enumerate(body_parts):
            await communicator.send_input(
                {"type": "http.request", "body": part, "more_body": index < len(body_parts) - 1}
            )
        start = await communicator.receive_output(timeout=20)
        bodies = []
        while True:
            message = await communicator.receive_output(timeout=20)
            bodies.append(message)
            if not message.get("more_body"):
                break
        await communicator.wait(timeout=5)
        return start, bodies

    return asyncio.run(go())


def body_of(bodies: list[dict]) -> bytes:
    return b"".join(message["body"] for message in bodies)


def test_healthz_through_the_asgi_application_carries_the_request_id():
    from tradingsite.asgi import application

    start, bodies = exchange(application, http_scope("GET", "/healthz", [(b"x-request-id", b"abc-123")]))

    assert start["status"] == 200
    assert json.loads(body_of(bodies)) == {"status": "alive"}
    assert (b"x-request-id", b"abc-123") in start["headers"]


@pytest.mark.django_db(transaction=True)
def test_an_order_posted_in_several_body_parts_is_placed_over_the_asgi_application(alice):
    from tradingsite.asgi import application

    account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    instrument_make("RELIANCE", 738561, "2500.00")
    token = api_token_create(user=alice, name="tests", scope="trade", days=1).key
    payload = json.dumps(OrderBody(limit=True, quantity=2, price="2499.95")).encode()
    headers = [
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]

    start, bodies = exchange(application, http_scope("POST", "/api/v1/orders", headers), [payload[:10], payload[10:]])

    assert start["status"] == 201, body_of(bodies)
    order = json.loads(body_of(bodies))
    assert (order["tradingsymbol"], order["quantity"], order["price"], order["status"]) == (
        "RELIANCE",
        2,
        "2499.95",
        "PUT ORDER REQ RECEIVED",
    )


def test_a_large_response_is_streamed_in_chunks_and_the_iterable_closed():
    closed = []
    chunk = b"x" * (BUFFER_LIMIT // 2 + 1)

    class Export:
        def __iter__(self):
            yield from (chunk, chunk, chunk, chunk)

        def close(self):
            closed.append(True)

    def export_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        return Export()

    start, bodies = exchange(WsgiBridge(export_app, threads=2), http_scope("GET", "/export"))

    assert start["status"] == 200
    assert (b"content-type", b"text/csv") in start["headers"]
    assert body_of(bodies) == chunk * 4
    assert len(bodies) > 2  # sent as it was produced, not gathered into one message
    assert closed == [True]


def test_the_wsgi_application_sees_the_request_as_sent():
    seen = {}

    def echo_app(environ, start_response):
        seen.update(
            method=environ["REQUEST_METHOD"],
            path=environ["PATH_INFO"],
            client=environ["REMOTE_ADDR"],
            body=environ["wsgi.input"].read(),
            header=environ["HTTP_X_TRACE"],
        )
        start_response("202 Accepted", [])
        return [b"ok"]

    scope = http_scope("PUT", "/things/1", [(b"x-trace", b"t-1")])
    start, bodies = exchange(WsgiBridge(echo_app, threads=2), scope, [b"hello ", b"world"])

    assert (start["status"], body_of(bodies)) == (202, b"ok")
    assert seen == {
        "method": "PUT",
        "path": "/things/1",
        "client": "203.0.113.9",
        "body": b"hello world",
        "header": "t-1",
    }


def test_too_many_duplicate_headers_is_a_400_naming_the_problem():
    def never_called(environ, start_response):
        raise AssertionError("the application must not run")

    scope = http_scope("GET", "/", [(b"x-dup", b"1")] * 101)
    start, bodies = exchange(WsgiBridge(never_called, threads=1), scope)

    assert start["status"] == 400
    assert b"Too many duplicate headers" in body_of(bodies)
