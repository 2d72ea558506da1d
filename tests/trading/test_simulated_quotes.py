"""The simulated feed's quote: the day's figures and five levels of depth around the price, as an exchange
feed in full mode sends them, on the websocket tick and in /api/v1/quotes."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.trading.conftest import instrument_make
from trading.feeds.base import FeedInstrument, feed_instruments
from trading.feeds.runner import FeedRunner
from trading.feeds.simulated import SimulatedFeed

D = Decimal
OPENING = datetime(2026, 11, 18, 3, 46, tzinfo=UTC)  # 09:16 IST, a Wednesday
RELIANCE = FeedInstrument(1, 738561, "RELIANCE", D("0.05"), D("2500.00"), previous_close=D("2480.00"))
MRF = FeedInstrument(2, 582913, "MRF", D("5"), D("130000"))
INFY = FeedInstrument(3, 408065, "INFY", D("0.05"), D("1500.00"))


def on_tick(price: Decimal, tick: Decimal) -> bool:
    return price % tick == 0


def test_each_quote_has_the_days_figures_and_five_levels_of_depth_around_the_price():
    # given a feed that sends the quote with every tick
    feed = SimulatedFeed([RELIANCE, MRF], seed=7, ticks_per_second=10, quote_seconds=0)

    # when it ticks through the first minutes of a session
    ticks = [tick for n in range(600) for tick in feed.step(OPENING + timedelta(seconds=n / 10))]

    # then every tick's quote describes the day so far and a plausible order book
    for instrument in (RELIANCE, MRF):
        own = [tick for tick in ticks if tick.instrument_id == instrument.instrument_id]
        prices = [tick.price for tick in own]
        close = instrument.previous_close or instrument.reference_price
        for n, tick in enumerate(own):
            quote = tick.quote
            assert (quote.mode, quote.tradable, quote.timestamp) == ("full", True, tick.ts)
            assert (quote.open, quote.high, quote.low) == (prices[0], max(prices[: n + 1]), min(prices[: n + 1]))
            assert (quote.close, quote.change) == (close, tick.price - close)
            assert (quote.last_quantity, quote.volume) == (tick.volume, sum(t.volume for t in own[: n + 1]))
            vwap = sum(t.price * t.volume for t in own[: n + 1]) / quote.volume
            assert abs(quote.average_price - vwap) <= D("0.005")
            bids, asks = quote.depth_buy, quote.depth_sell
            assert len(bids) == len(asks) == 5
            assert bids[0].price < tick.price < asks[0].price
            assert all(a.price > b.price for a, b in zip(bids, bids[1:], strict=False))
            assert all(a.price < b.price for a, b in zip(asks, asks[1:], strict=False))
            for level in bids + asks:
                assert on_tick(level.price, instrument.tick_size)
                assert level.quantity > 0 and 0 < level.orders <= level.quantity
            assert quote.buy_quantity > sum(level.quantity for level in bids)
            assert quote.sell_quantity > sum(level.quantity for level in asks)
    # the spread is mostly a tick or two, and a ₹1,30,000 share is quoted in fewer shares than a ₹2,500 one
    reliances = [t.quote for t in ticks if t.instrument_id == RELIANCE.instrument_id]
    spreads = [(quote.depth_sell[0].price - quote.depth_buy[0].price) / D("0.05") for quote in reliances]
    assert sorted(spreads)[len(spreads) // 2] <= 4
    shares = {
        i.instrument_id: sum(t.quote.depth_buy[0].quantity for t in ticks if t.instrument_id == i.instrument_id)
        for i in (RELIANCE, MRF)
    }
    assert shares[RELIANCE.instrument_id] > 10 * shares[MRF.instrument_id]


def test_quotes_ride_at_most_once_a_quote_interval_and_leave_the_prices_as_the_seed_makes_them():
    instruments = [RELIANCE, MRF, INFY]

    def walk(quote_seconds):
        feed = SimulatedFeed(instruments, seed=3, ticks_per_second=10, quote_seconds=quote_seconds)
        return [feed.step(OPENING + timedelta(seconds=n / 10)) for n in range(31)]

    every_tick, once_a_second = walk(0), walk(1.0)

    # the same prices and volumes with or without quotes in between
    assert [(t.price, t.volume) for batch in every_tick for t in batch] == [
        (t.price, t.volume) for batch in once_a_second for t in batch
    ]
    # the first batch quotes every instrument; after it, each instrument once in each 10 ticks (a second),
    # and not all in one batch
    assert all(tick.quote for tick in once_a_second[0])
    for index in range(len(instruments)):
        quoted = [n for n, batch in enumerate(once_a_second) if batch[index].quote]
        assert all(b - a == 10 for a, b in zip(quoted[1:], quoted[2:], strict=False)) and len(quoted) >= 3
        assert all(b - a >= 10 for a, b in zip(quoted, quoted[1:], strict=False))
    assert max(sum(1 for t in batch if t.quote) for batch in once_a_second[1:]) < len(instruments)


def test_the_day_starts_again_at_the_ist_day_change_from_the_last_days_close():
    feed = SimulatedFeed([INFY], seed=5, ticks_per_second=10, quote_seconds=0)
    monday = [feed.step(OPENING + timedelta(seconds=n))[0] for n in range(100)]

    tuesday = feed.step(OPENING + timedelta(days=1))[0]

    assert monday[-1].quote.close == INFY.reference_price  # no previous close known: the reference price
    assert monday[-1].quote.volume == sum(tick.volume for tick in monday)
    quote = tuesday.quote
    assert (quote.open, quote.high, quote.low) == (tuesday.price,) * 3
    assert (quote.close, quote.volume, quote.average_price) == (monday[-1].price, tuesday.volume, tuesday.price)


class OneBatch:
    """The simulated feed's first batch, at a session time, then the end of the feed."""

    def __init__(self, feed: SimulatedFeed, at: datetime):
        self.feed, self.at = feed, at

    async def batches(self):
        yield self.feed.step(self.at)


@pytest.mark.django_db(transaction=True)
def test_the_quotes_api_shows_the_simulated_market_once_the_feed_has_published(client_for, alice):
    # given two instruments, RELIANCE with yesterday's close on record
    from trading.models import DayBar
    from tradingsite.ist import ist_day_start

    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    instrument_make("INFY", 408065, "1500.00")
    yesterday = ist_day_start() - timedelta(days=1)
    DayBar.objects.create(instrument=reliance, ts=yesterday, open=1, high=1, low=1, close=D("2470.00"), volume=1)
    feed = SimulatedFeed(feed_instruments(closes=True), seed=11, ticks_per_second=2)

    # when the feed runner publishes its first batch
    asyncio.run(FeedRunner(OneBatch(feed, datetime.now(UTC)), flush_seconds=0).run())

    # then the quotes carry each instrument's day and depth
    quotes = client_for(alice).get("/api/v1/quotes", {"instruments": "738561,408065"}).json()
    assert [q["tradingsymbol"] for q in quotes] == ["INFY", "RELIANCE"]
    for quote in quotes:
        market = quote["market"]
        assert (market["mode"], market["tradable"], D(market["open"])) == ("full", True, D(quote["last_price"]))
        assert D(market["change"]) == D(quote["last_price"]) - D(market["close"])
        assert len(market["depth_buy"]) == len(market["depth_sell"]) == 5
        assert D(market["depth_buy"][0]["price"]) < D(quote["last_price"]) < D(market["depth_sell"][0]["price"])
        assert all(level["quantity"] > 0 and level["orders"] > 0 for level in market["depth_buy"])
    assert {q["tradingsymbol"]: D(q["market"]["close"]) for q in quotes} == {
        "RELIANCE": D("2470.00"),
        "INFY": D("1500.00"),
    }
    # and a watchlist that asks for prices only gets them without the depth (a smaller answer)
    prices = client_for(alice).get("/api/v1/quotes", {"instruments": "738561,408065", "market": "false"}).json()
    assert [(q["tradingsymbol"], q["last_price"], q["market"]) for q in prices] == [
        (q["tradingsymbol"], q["last_price"], None) for q in quotes
    ]
