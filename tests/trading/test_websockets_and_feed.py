"""The websocket streams and the feed process, through the real ASGI application and channel layer."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from tests.trading.conftest import instrument_make, settle
from trading.feeds.base import feed_instruments
from trading.feeds.replay import ReplayEvent, ReplayFeed
from trading.feeds.runner import FeedRunner
from trading.feeds.simulated import SimulatedFeed
from trading.market.prices import price_key
from trading.models import MinuteBar, Order, Position
from trading.orders.accounts import account_create
from trading.orders.services import order_place
from trading.realtime.streams import tick_group

D = Decimal
pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}".encode()


def socket(path: str, cookie: bytes | None = None, origin: bytes = b"http://localhost") -> WebsocketCommunicator:
    """A websocket client of the ASGI application; `cookie` (from session_cookie) logs it in."""
    from tradingsite.asgi import application

    headers = [(b"origin", origin), (b"host", b"localhost")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


async def drain(ws: WebsocketCommunicator) -> list[dict]:
    """Every frame that arrives until the stream has been quiet for half a second."""
    frames = []
    while not await ws.receive_nothing(timeout=0.5):
        frames.append(await ws.receive_json_from())
    return frames


def run(coroutine):
    return asyncio.run(coroutine)


def test_streams_refuse_anonymous_clients_and_foreign_origins(alice):
    cookie = session_cookie(alice)

    async def go():
        anonymous = socket("/ws/market/")
        connected, code = await anonymous.connect()
        assert (connected, code) == (False, 4401)
        foreign = socket("/ws/account/", cookie, origin=b"https://evil.example")
        connected, _ = await foreign.connect()
        assert not connected

    run(go())


def test_a_user_without_a_role_is_refused_the_streams_and_the_refusals_are_recorded(dave):
    from audit.models import AuditEvent
    from tests.conftest import persona

    noras, daves = session_cookie(persona("nora", set())), session_cookie(dave)
    # transactional tests keep the audit trail between tests (it cannot be truncated): look only at new rows
    since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    async def go():
        # nora signed in but has no role yet; dave (ops) may watch prices
        assert await socket("/ws/account/", noras).connect() == (False, 4403)
        assert await socket("/ws/market/", noras).connect() == (False, 4403)
        market_stream = socket("/ws/market/", daves)
        assert (await market_stream.connect())[0] is True
        await market_stream.disconnect()

    run(go())
    denied = AuditEvent.objects.filter(action="access.denied", id__gt=since).order_by("id")
    assert [(event.actor, event.object_type, event.payload["needs"]) for event in denied] == [
        ("nora", "websocket", "trading.view_order"),
        ("nora", "websocket", "trading.view_instrument"),
    ]


def test_market_stream_sends_quotes_then_coalesced_ticks_of_subscribed_instruments_only(alice):
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    instrument_make("INFY", 408065, "1500.00")
    cookie = session_cookie(alice)

    async def go():
        ws = socket("/ws/market/", cookie)
        assert (await ws.connect())[0]
        await ws.send_json_to({"action": "subscribe", "instruments": [738561, 999]})
        reply = await ws.receive_json_from(timeout=5)
        assert reply == {
            "type": "subscribed",
            "instruments": [738561],
            "unknown": [999],
            "quotes": [{"i": 738561, "p": "2500.00"}],
        }
        layer = get_channel_layer()
        # a burst of 200 ticks: the client gets a few frames, the last with the latest price
        for n in range(200):
            price = str(D("2500.00") + D(n) * D("0.05"))
            await layer.group_send(tick_group(738561), {"type": "market.tick", "i": 738561, "p": price, "v": 1, "t": 0})
            await layer.group_send(tick_group(408065), {"type": "market.tick", "i": 408065, "p": "1", "v": 1, "t": 0})
        frames = await drain(ws)
        assert frames and all(frame["type"] == "ticks" for frame in frames)
        assert len(frames) < 50
        assert frames[-1]["ticks"] == [{"i": 738561, "p": "2509.95", "v": 1, "t": 0}]
        assert {tick["i"] for frame in frames for tick in frame["ticks"]} == {738561}

        await ws.send_json_to({"action": "unsubscribe", "instruments": [738561]})
        assert (await ws.receive_json_from(timeout=5))["type"] == "unsubscribed"
        await layer.group_send(tick_group(738561), {"type": "market.tick", "i": 738561, "p": "1", "v": 1, "t": 0})
        assert await ws.receive_nothing(timeout=0.5)

        await ws.send_json_to({"action": "subscribe", "instruments": ["RELIANCE"]})
        assert (await ws.receive_json_from(timeout=5)) == {
            "type": "error",
            "message": "instruments must be a list of instrument tokens",
        }
        await ws.disconnect()

    assert reliance.instrument_token == 738561
    run(go())


def test_account_stream_carries_a_users_own_orders_and_fills_and_never_another_users(alice, bob):
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    account = account_create(owner=alice, name="alice-paper", cash=D("1000000"), created_by=alice)
    account_create(owner=bob, name="bob-paper", cash=D("1000000"), created_by=bob)
    alice_cookie, bob_cookie = session_cookie(alice), session_cookie(bob)

    async def go():
        alice_ws, bob_ws = socket("/ws/account/", alice_cookie), socket("/ws/account/", bob_cookie)
        assert (await alice_ws.connect())[0] and (await bob_ws.connect())[0]
        assert (await alice_ws.receive_json_from(timeout=5)) == {"type": "hello", "user": "alice"}
        assert (await bob_ws.receive_json_from(timeout=5)) == {"type": "hello", "user": "bob"}

        order = await database_sync_to_async(order_place)(
            account=account,
            instrument=reliance,
            transaction_type="BUY",
            order_type="MARKET",
            product="CNC",
            quantity=3,
            placed_by=alice,
        )
        received = await alice_ws.receive_json_from(timeout=5)
        assert received["type"] == "order"
        assert (received["data"]["id"], received["data"]["status"]) == (order.pk, "PUT ORDER REQ RECEIVED")

        await database_sync_to_async(settle)()  # the paper exchange accepts and fills it
        events = [await alice_ws.receive_json_from(timeout=5) for _ in range(3)]
        assert [event["type"] for event in events] == ["order", "order", "fill"]
        assert events[1]["data"]["status"] == "COMPLETE"
        assert (events[2]["data"]["quantity"], events[2]["data"]["price"]) == (3, "2500.00")

        assert await bob_ws.receive_nothing(timeout=0.5)
        await alice_ws.disconnect()
        await bob_ws.disconnect()

    run(go())


def test_the_feed_fills_a_resting_limit_order_when_the_price_crosses_and_builds_bars(alice):
    # given a resting buy limit at 2490 and a client watching the instrument
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    account = account_create(owner=alice, name="alice-paper", cash=D("1000000"), created_by=alice)
    order = order_place(
        account=account,
        instrument=reliance,
        transaction_type="BUY",
        order_type="LIMIT",
        product="CNC",
        quantity=2,
        price=D("2490.00"),
        placed_by=alice,
    )
    settle()
    order.refresh_from_db()
    assert order.status == Order.Status.OPEN
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=2)
    prices = ["2495.00", "2492.50", "2489.95", "2493.00"]
    events = [ReplayEvent(start + timedelta(seconds=20 * n), "RELIANCE", D(p), 10) for n, p in enumerate(prices)]
    instruments = {i.tradingsymbol: i for i in feed_instruments()}
    cookie = session_cookie(alice)

    async def go():
        ws = socket("/ws/market/", cookie)
        assert (await ws.connect())[0]
        await ws.send_json_to({"action": "subscribe", "instruments": [738561]})
        await ws.receive_json_from(timeout=5)
        # when the feed plays the ticks
        await FeedRunner(ReplayFeed(events, instruments, speed=0), flush_seconds=0).run()
        seen = [tick["p"] for frame in await drain(ws) for tick in frame["ticks"]]
        await ws.disconnect()
        return seen

    seen = run(go())

    # then the order filled at its limit on the crossing tick, and everything downstream saw the prices
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.average_price) == ("COMPLETE", 2, D("2490.0000"))
    assert Position.objects.get(account=account).quantity == 2
    assert seen[-1] == "2493.00"
    assert cache.get(price_key(738561)) == "2493.00"
    reliance.refresh_from_db()
    assert reliance.last_price == D("2493.00")
    bars = list(MinuteBar.objects.filter(instrument=reliance).order_by("ts"))
    assert [(b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        (D("2495.00"), D("2495.00"), D("2489.95"), D("2489.95"), 30),
        (D("2493.00"), D("2493.00"), D("2493.00"), D("2493.00"), 10),
    ]


def test_the_simulated_feed_is_reproducible_on_tick_and_moves_with_the_session_profile(db):
    instrument_make("RELIANCE", 738561, "2500.00")
    instrument_make("INFY", 408065, "1500.00")
    instruments = feed_instruments()
    opening = datetime(2026, 11, 18, 3, 46, tzinfo=UTC)  # 09:16 IST

    def walk(seed):
        feed = SimulatedFeed(instruments, seed=seed, ticks_per_second=10)
        return [tick.price for _ in range(500) for tick in feed.step(opening)]

    first, again, other = walk(1), walk(1), walk(2)
    assert first == again and first != other
    assert all(price % D("0.05") == 0 for price in first)
    assert len(set(first)) > 20  # it moves
