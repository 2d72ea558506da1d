"""Kite's live prices: the real KiteTicker, in threaded mode, against a fake Kite websocket on loopback
that sends Kite's binary tick frames (built from the official packets) and text order messages."""

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest

from tests.fakes.kite import FakeTicker, fixture, packet_with, ticker_packet, wait_until
from trading.feeds import FeedInstrument
from trading.kite_feed import TOKENS_PER_CONNECTION, KiteFeed
from tradingsite.exceptions import ValidationError
from tradingsite.ist import IST

D = Decimal
INFY = FeedInstrument(1, 408065, "INFY", D("0.05"), D("1500"))


@pytest.fixture
def ticker():
    fake = FakeTicker(api_key="kiteapp1", access_tokens={"day-token"}).start()
    yield fake
    fake.stop()


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


def as_fixture(value):
    """A platform value in the form the fixture JSON writes it."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(IST).isoformat()  # the fixture writes Kite's times in IST
    return value


def plain(value):
    """Nested platform values in the fixture's form."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return as_fixture(value)


def test_fixture_packets_become_ticks_equal_to_the_fixture_field_by_field(ticker):
    feed = feed_for(ticker, [INFY], mode="full")
    quote_packet, full_packet = ticker_packet("ticker_quote"), ticker_packet("ticker_full")

    def script(ticks):
        wait_until(lambda: ticker.subscribed() == {408065: "full"}, what="a full-mode subscription of INFY")
        ticker.send_ticks(lambda token, mode: quote_packet)
        wait_until(lambda: len(ticks) == 1, what="the quote tick")
        ticker.send_ticks(lambda token, mode: full_packet)
        wait_until(lambda: len(ticks) == 2, what="the full tick")

    quote_tick, full_tick = run_with(feed, script)

    for tick, expected in ((quote_tick, fixture("ticker_quote.json")), (full_tick, fixture("ticker_full.json"))):
        quote = tick.quote
        assert (tick.instrument_id, tick.instrument_token) == (1, expected["instrument_token"])
        assert tick.price == D(str(expected["last_price"]))
        record = {
            "mode": quote.mode,
            "tradable": quote.tradable,
            "instrument_token": tick.instrument_token,
            "last_price": tick.price,
            "last_quantity": quote.last_quantity,
            "average_price": quote.average_price,
            "volume": quote.volume,
            "buy_quantity": quote.buy_quantity,
            "sell_quantity": quote.sell_quantity,
            "ohlc": {"open": quote.open, "high": quote.high, "low": quote.low, "close": quote.close},
            "last_trade_time": quote.last_trade_time,
            "oi": quote.oi,
            "oi_day_high": quote.oi_day_high,
            "oi_day_low": quote.oi_day_low,
            "timestamp": quote.timestamp,
            "depth": {
                side: [{"price": lvl.price, "quantity": lvl.quantity, "orders": lvl.orders} for lvl in levels]
                for side, levels in (("buy", quote.depth_buy), ("sell", quote.depth_sell))
            },
        }
        for field, want in expected.items():
            if field == "change":
                continue  # below
            got = record[field]
            if isinstance(want, dict):
                got = {
                    k: [{n: as_fixture(x) for n, x in lvl.items()} for lvl in v]
                    if isinstance(v, list)
                    else as_fixture(v)
                    for k, v in got.items()
                }
            assert as_fixture(got) == want, field
        # the change from the previous close, exact: the full fixture's 5.9 is 1573.70 - 1567.80
        assert quote.change == tick.price - quote.close
    assert full_tick.quote.change == D(str(fixture("ticker_full.json")["change"])).quantize(D("0.01"))
    assert full_tick.ts == full_tick.quote.timestamp and full_tick.ts.utcoffset().total_seconds() == 0
    # bars count what traded between ticks: the day's volume grew by 16485 from the quote to the full tick
    assert (quote_tick.volume, full_tick.volume) == (0, 1192471 - 1175986)


def test_thousands_of_instruments_spread_over_connections_of_3000_and_at_most_three(ticker):
    instruments = [FeedInstrument(n, 100000 + n, f"S{n}", D("0.05"), D("100")) for n in range(7001)]
    feed = feed_for(ticker, instruments, mode="ltp")
    counts = []

    def script(ticks):
        wait_until(lambda: len(ticker.subscribed()) == 7001, what="7001 subscriptions")
        wait_until(lambda: set(ticker.subscribed().values()) == {"ltp"}, what="LTP mode on all")
        counts.extend(sorted(len(connection.modes) for connection in ticker.live()))

    run_with(feed, script)

    assert counts == [1001, TOKENS_PER_CONNECTION, TOKENS_PER_CONNECTION]
    assert ticker.opened == 3
    with pytest.raises(ValidationError, match="at most 9000 instruments"):
        feed_for(ticker, instruments * 2)


def test_a_dropped_websocket_reconnects_resubscribes_in_the_same_mode_and_ticks_resume(ticker):
    reliance = FeedInstrument(2, 738561, "RELIANCE", D("0.05"), D("2500"))
    feed = feed_for(ticker, [INFY, reliance], mode="full")
    full = ticker_packet("ticker_full")

    def script(ticks):
        wait_until(lambda: ticker.subscribed() == {408065: "full", 738561: "full"}, what="the subscription")
        ticker.send_ticks(lambda token, mode: packet_with(full, token=token, paise=150000))
        wait_until(lambda: len(ticks) == 2, what="the first ticks")
        ticker.drop()
        wait_until(lambda: ticker.opened == 2, timeout=20, what="a reconnection")
        wait_until(lambda: ticker.subscribed() == {408065: "full", 738561: "full"}, what="the re-subscription")
        ticker.send_ticks(lambda token, mode: packet_with(full, token=token, paise=150500))
        wait_until(lambda: len(ticks) == 4, what="ticks after the reconnection")

    ticks = run_with(feed, script)

    assert [str(t.price) for t in ticks] == ["1500.00", "1500.00", "1505.00", "1505.00"]
    assert feed.reconnects >= 1


def test_instruments_added_to_the_master_are_subscribed_and_removed_ones_unsubscribed(ticker):
    reliance = FeedInstrument(2, 738561, "RELIANCE", D("0.05"), D("2500"))
    tcs = FeedInstrument(3, 2953217, "TCS", D("0.05"), D("3500"))
    master = [INFY, reliance]
    feed = feed_for(ticker, list(master), mode="ltp", instruments_source=lambda: list(master), refresh_seconds=0.2)

    def script(ticks):
        wait_until(lambda: ticker.subscribed() == {408065: "ltp", 738561: "ltp"}, what="the subscription")
        master[:] = [INFY, tcs]
        wait_until(lambda: ticker.subscribed() == {408065: "ltp", 2953217: "ltp"}, what="the change")

    run_with(feed, script)


def test_bad_feed_settings_are_refused_with_the_reason(ticker):
    with pytest.raises(ValidationError, match="mode must be one of ltp, quote, full"):
        feed_for(ticker, [INFY], mode="depth")
    with pytest.raises(ValidationError, match="no instruments"):
        feed_for(ticker, [])
