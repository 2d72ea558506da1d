"""Kite's live prices: the real KiteTicker, in threaded mode, against a fake Kite websocket on loopback
that sends Kite's binary tick frames (built from the official packets) and text order messages."""

import asyncio
import json
import struct
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.fakes.kite import (
    SAMPLE_AT,
    SAMPLE_FULL,
    FakeTicker,
    packet_with,
    quote_packet,
    sample_full_packet,
)
from tests.threads import wait_for
from tests.trading.conftest import instrument_make, kite_place, refreshed
from tests.trading.test_websockets_and_feed import session_cookie, socket
from trading.feeds.base import FeedInstrument
from trading.feeds.configured import feed_from_settings
from trading.feeds.kite import TOKENS_PER_CONNECTION, KiteFeed
from trading.feeds.runner import FeedRunner
from trading.kite.reconcile import kite_reconcile
from trading.market.prices import price_key
from trading.models import BrokerUpdate, KiteLink, MinuteBar, Order, Position, Trade
from tradingsite.exceptions import ValidationError

D = Decimal
INFY = FeedInstrument(1, 408065, "INFY", D("0.05"), D("1500"))


def feed_for(ticker: FakeTicker, instruments: list[FeedInstrument], **options) -> KiteFeed:
    return KiteFeed(instruments, api_key="kiteapp1", access_token="day-token", root=ticker.root, **options)


def run_with(feed: KiteFeed, script, timeout: float = 30.0) -> list:
    """Run the feed in an event loop while `script(ticks)` plays Kite's side in a thread; returns every
    tick the feed yielded. The feed's connections are closed when the script returns."""

    async def go():
        ticks = []

        async def consume():
            async for batch in feed.batches():
                ticks.extend(batch)

        consumer = asyncio.create_task(consume())
        try:
            async with asyncio.timeout(timeout):
                await asyncio.to_thread(script, ticks)
        finally:
            consumer.cancel()
            try:
                await consumer
            except asyncio.CancelledError:
                pass
        return ticks

    return asyncio.run(go())


def test_kites_packets_become_ticks_with_every_field_exact(ticker):
    feed = feed_for(ticker, [INFY], mode="full")
    quote = quote_packet(
        408065, 1573.15, last_quantity=1, average_price=1570.33, volume=1175986, ohlc=SAMPLE_FULL["ohlc"]
    )
    full = sample_full_packet()
    ltp = struct.pack(">II", 408065, 157315)  # LTP mode: the token and the price in paise

    def script(ticks):
        wait_for(lambda: ticker.subscribed() == {408065: "full"}, what="a full-mode subscription of INFY")
        for n, packet in enumerate((quote, full, ltp), start=1):
            ticker.send_ticks(lambda token, mode, packet=packet: packet)
            wait_for(lambda n=n: len(ticks) == n, what=f"tick {n}")

    quote_tick, full_tick, ltp_tick = run_with(feed, script)

    assert (quote_tick.quote.mode, quote_tick.price, quote_tick.quote.average_price) == (
        "quote",
        D("1573.15"),
        D("1570.33"),
    )
    assert (quote_tick.quote.open, quote_tick.quote.close, quote_tick.quote.change) == (
        D("1569.15"),
        D("1567.80"),
        D("5.35"),
    )
    q = full_tick.quote
    assert (q.mode, full_tick.price, q.last_quantity, q.volume, q.buy_quantity, q.sell_quantity) == (
        "full",
        D("1573.70"),
        7,
        1192471,
        256443,
        363009,
    )
    assert q.timestamp == q.last_trade_time == SAMPLE_AT and full_tick.ts.utcoffset().total_seconds() == 0
    assert [(lvl.quantity, lvl.price, lvl.orders) for lvl in q.depth_buy][:2] == [
        (5, D("1573.40"), 1),
        (140, D("1573.00"), 2),
    ]
    assert (q.depth_sell[4].quantity, q.depth_sell[4].price) == (724, D("1573.95"))
    assert q.change == D("5.90")
    # bars count what traded between ticks: the day's volume grew from the quote to the full tick
    assert (quote_tick.volume, full_tick.volume) == (0, 1192471 - 1175986)
    assert (ltp_tick.quote.mode, ltp_tick.price, ltp_tick.volume) == ("ltp", D("1573.15"), 0)


def test_thousands_of_instruments_spread_over_connections_of_3000_and_at_most_three(ticker):
    instruments = [FeedInstrument(n, 100000 + n, f"S{n}", D("0.05"), D("100")) for n in range(7001)]
    feed = feed_for(ticker, instruments, mode="ltp")
    counts = []

    def script(ticks):
        wait_for(lambda: len(ticker.subscribed()) == 7001, what="7001 subscriptions")
        wait_for(lambda: set(ticker.subscribed().values()) == {"ltp"}, what="LTP mode on all")
        counts.extend(sorted(len(connection.modes) for connection in ticker.live()))

    run_with(feed, script)

    assert counts == [1001, TOKENS_PER_CONNECTION, TOKENS_PER_CONNECTION]
    assert ticker.opened == 3
    with pytest.raises(ValidationError, match="at most 9000 instruments"):
        feed_for(ticker, instruments * 2)


def test_a_dropped_websocket_reconnects_resubscribes_in_the_same_mode_and_ticks_resume(ticker):
    reliance = FeedInstrument(2, 738561, "RELIANCE", D("0.05"), D("2500"))
    feed = feed_for(ticker, [INFY, reliance], mode="full")
    full = sample_full_packet()

    def script(ticks):
        wait_for(lambda: ticker.subscribed() == {408065: "full", 738561: "full"}, what="the subscription")
        ticker.send_ticks(lambda token, mode: packet_with(full, token=token, paise=150000))
        wait_for(lambda: len(ticks) == 2, what="the first ticks")
        ticker.drop()
        wait_for(lambda: ticker.opened == 2, timeout=20, what="a reconnection")
        wait_for(lambda: ticker.subscribed() == {408065: "full", 738561: "full"}, what="the re-subscription")
        ticker.send_ticks(lambda token, mode: packet_with(full, token=token, paise=150500))
        wait_for(lambda: len(ticks) == 4, what="ticks after the reconnection")

    ticks = run_with(feed, script)

    assert [str(t.price) for t in ticks] == ["1500.00", "1500.00", "1505.00", "1505.00"]
    assert feed.reconnects >= 1


def test_instruments_added_to_the_master_are_subscribed_and_removed_ones_unsubscribed(ticker):
    reliance = FeedInstrument(2, 738561, "RELIANCE", D("0.05"), D("2500"))
    tcs = FeedInstrument(3, 2953217, "TCS", D("0.05"), D("3500"))
    master = [INFY, reliance]
    feed = feed_for(ticker, list(master), mode="ltp", instruments_source=lambda: list(master), refresh_seconds=0.2)

    def script(ticks):
        wait_for(lambda: ticker.subscribed() == {408065: "ltp", 738561: "ltp"}, what="the subscription")
        master[:] = [INFY, tcs]
        wait_for(lambda: ticker.subscribed() == {408065: "ltp", 2953217: "ltp"}, what="the change")

    run_with(feed, script)


def test_an_instrument_beyond_a_full_connection_opens_the_next_one(ticker):
    master = [FeedInstrument(n, 100000 + n, f"S{n}", D("0.05"), D("100")) for n in range(TOKENS_PER_CONNECTION)]
    feed = feed_for(ticker, list(master), mode="quote", instruments_source=lambda: list(master), refresh_seconds=0.2)
    extra = FeedInstrument(9999, 999999, "EXTRA", D("0.05"), D("100"))
    holdings = []

    def script(ticks):
        wait_for(lambda: len(ticker.subscribed()) == TOKENS_PER_CONNECTION, what="the first connection full")
        master.append(extra)
        wait_for(lambda: 999999 in ticker.subscribed(), what="the new instrument subscribed")
        holdings.extend(sorted(len(connection.modes) for connection in ticker.live()))

    run_with(feed, script)

    assert ticker.opened == 2 and holdings == [1, TOKENS_PER_CONNECTION]


def test_bad_feed_settings_are_refused_with_the_reason(ticker):
    with pytest.raises(ValidationError, match="mode must be one of ltp, quote, full"):
        feed_for(ticker, [INFY], mode="depth")
    with pytest.raises(ValidationError, match="no instruments"):
        feed_for(ticker, [])


@pytest.fixture
def kite_feed(kite, settings):
    """Alice's Kite account streaming INFY in full mode through FEED=kite, on a fake Kite websocket that
    knows the day's token; `kite_feed.ticker` is that websocket."""
    fake_ticker = FakeTicker(api_key="kiteapp1", access_tokens={"day-token"}).start()
    settings.FEED = "kite"
    settings.FEED_KITE_ACCOUNT = "alice-kite"
    settings.FEED_INSTRUMENTS = ["INFY"]
    settings.KITE_TICKER_ROOT = fake_ticker.root
    kite.ticker = fake_ticker
    yield kite
    fake_ticker.stop()


def run_feed_with(script, timeout: float = 30.0) -> None:
    """The feed process (FeedRunner on FEED=kite) running while `script()` plays Kite's side."""

    runner = FeedRunner(feed_from_settings(), flush_seconds=0)

    async def go():
        task = asyncio.create_task(runner.run())
        try:
            async with asyncio.timeout(timeout):
                await asyncio.to_thread(script)
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    asyncio.run(go())


@pytest.mark.django_db(transaction=True)
def test_kite_ticks_reach_redis_the_sockets_bars_and_the_quotes_api(kite_feed, alice, client_for):
    infy = instrument_make("INFY", 408065, "1500.00")
    ticker = kite_feed.ticker
    now = datetime.now(UTC).replace(microsecond=0)
    full = sample_full_packet()
    cookie = session_cookie(alice)
    frames = []

    async def watch():
        ws = socket("/ws/market/", cookie)
        assert (await ws.connect())[0]
        await ws.send_json_to({"action": "subscribe", "instruments": [408065]})
        await ws.receive_json_from(timeout=5)
        return ws

    def script():
        wait_for(lambda: ticker.subscribed() == {408065: "full"}, what="the subscription")
        ticker.send_ticks(lambda token, mode: packet_with(full, volume=1000, at=now))
        wait_for(lambda: cache.get(price_key(408065)) == "1573.70", what="the price in Redis")
        ticker.send_ticks(lambda token, mode: packet_with(full, paise=157400, volume=1250, at=now))
        wait_for(lambda: cache.get(price_key(408065)) == "1574.00", what="the second price in Redis")

    async def both():
        ws = await watch()
        await asyncio.to_thread(run_feed_with, script)
        while not await ws.receive_nothing(timeout=0.5):
            frames.append(await ws.receive_json_from())
        await ws.disconnect()

    asyncio.run(both())

    last = [tick for frame in frames for tick in frame.get("ticks", [])][-1]
    assert last["p"] == "1574.00" and last["q"]["depth_sell"][0] == {"price": "1573.70", "quantity": 172, "orders": 3}
    bar = MinuteBar.objects.get(instrument=infy)
    assert (bar.open, bar.close, bar.volume) == (D("1573.70"), D("1574.00"), 250)  # the day's volume grew 250
    infy.refresh_from_db()
    assert infy.last_price == D("1574.00")
    assert KiteLink.objects.get(account=kite_feed.account).reconciled_at is not None  # at the feed's start
    (quote,) = client_for(alice).get("/api/v1/quotes", {"instruments": "408065"}).json()
    assert quote["market"]["mode"] == "full" and quote["market"]["volume"] == 1250
    assert quote["market"]["close"] == "1567.8000" and len(quote["market"]["depth_buy"]) == 5


@pytest.mark.django_db(transaction=True)
def test_partial_fills_from_the_tickers_order_messages_are_booked_once(kite_feed, alice, client):
    infy = instrument_make("INFY", 408065, "1500.00")
    ticker = kite_feed.ticker
    order = kite_place(kite_feed, alice, infy, send=True)
    complete = {}

    def script():
        wait_for(lambda: ticker.subscribed() == {408065: "full"}, what="the subscription")
        # Kite fills the order in two parts after the feed started (its start-up reconciliation saw none)
        partial = kite_feed.fill(order.broker_order_id, 1, 1500.5, at="2026-11-24 10:00:01")
        ticker.send_order(partial)
        ticker.send_order(partial)  # Kite may send an update again
        wait_for(lambda: Trade.objects.filter(order=order).count() == 1, what="the partial fill")
        complete.update(kite_feed.fill(order.broker_order_id, 1, 1501.0, at="2026-11-24 10:00:02"))
        ticker.send_order(complete)
        wait_for(lambda: refreshed(order).status == Order.Status.COMPLETE, what="the completion")

    run_feed_with(script)

    # and the same completion arriving as a postback changes nothing
    answer = client.post("/kite/postback", json.dumps(complete), content_type="application/json")
    assert answer.json()["applied"] == "nothing new"
    order.refresh_from_db()
    fills = list(Trade.objects.filter(order=order).order_by("pk").values_list("quantity", "price"))
    assert fills == [(1, D("1500.50")), (1, D("1501.00"))]
    assert (order.filled_quantity, order.average_price) == (2, D("1500.7500"))
    assert Position.objects.get(account=kite_feed.account).quantity == 2


@pytest.mark.django_db(transaction=True)
def test_a_fill_missed_while_the_websocket_was_down_is_repaired_by_reconciliation_once(kite_feed, alice):
    infy = instrument_make("INFY", 408065, "1500.00")
    ticker = kite_feed.ticker
    order = kite_place(kite_feed, alice, infy, send=True)
    outcome = {}

    def script():
        wait_for(lambda: ticker.subscribed() == {408065: "full"}, what="the subscription")
        ticker.refuse = True  # the network fails and stays down for a while
        ticker.drop()
        # meanwhile the order fills at Kite
        filled = kite_feed.update(order.broker_order_id, filled=2, average_price=1500.0, at="2026-11-24 10:00:05")
        wait_for(lambda: ticker.refused >= 1, timeout=20, what="a refused reconnection")
        assert refreshed(order).status == Order.Status.OPEN  # the fill's message was lost
        outcome.update(kite_reconcile(KiteLink.objects.get(account=kite_feed.account)))
        ticker.refuse = False
        wait_for(lambda: ticker.subscribed() == {408065: "full"}, timeout=20, what="the re-subscription")
        ticker.send_order(filled)  # the late message, after all
        wait_for(
            lambda: BrokerUpdate.objects.filter(order=order, source="ticker").exists(), what="the late message handled"
        )

    run_feed_with(script)

    order.refresh_from_db()
    assert outcome["updated"] == 1
    assert (order.status, order.filled_quantity) == (Order.Status.COMPLETE, 2)
    assert list(Trade.objects.filter(order=order).values_list("quantity", "price")) == [(2, D("1500.00"))]
    assert Position.objects.get(account=kite_feed.account).quantity == 2


def test_the_kite_feed_will_not_start_without_a_live_session_or_a_named_account(kite_feed, settings, bob):
    KiteLink.objects.filter(account=kite_feed.account).update(expires_at=timezone.now())
    with pytest.raises(ValidationError, match="session of account alice-kite has ended .* log in at /kite/"):
        feed_from_settings()
    settings.FEED_KITE_ACCOUNT = "nobody"
    with pytest.raises(ValidationError, match="FEED=kite: no Kite-linked account is called 'nobody'"):
        feed_from_settings()
