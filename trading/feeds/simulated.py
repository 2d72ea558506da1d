"""The simulated feed: a seeded random walk per instrument in NSE session hours, with the day's quote
(OHLC, volume, VWAP and five levels of depth) as an exchange feed in full mode would send it."""

import asyncio
import math
import random
from collections.abc import AsyncIterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from trading.feeds.base import SESSION_MINUTES, TRADING_SECONDS_PER_YEAR, DepthLevel, FeedInstrument, Quote, Tick
from tradingsite.exceptions import ValidationError
from tradingsite.ist import IST, SESSION_OPEN, session_open


def intraday_profile(at: datetime) -> float:
    """Volatility multiplier through the session: highest at the open, raised again into the close."""
    local = at.astimezone(IST)
    minute = (local.hour * 60 + local.minute) - (SESSION_OPEN.hour * 60 + SESSION_OPEN.minute)
    if not 0 <= minute < SESSION_MINUTES:
        return 1.0
    return 0.8 + 1.6 * math.exp(-minute / 25) + 0.7 * math.exp(-(SESSION_MINUTES - minute) / 30)


def to_tick(value: float, tick: Decimal) -> Decimal:
    steps = (Decimal(repr(value)) / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(steps, Decimal(1)) * tick


DEPTH_LEVELS = 5
# A depth level holds about this many rupees (lognormal around it), so share counts scale with price.
DEPTH_LEVEL_VALUE = 200_000.0
# The spread and the gaps between levels, in base steps of a fifth of a basis point of the price (one
# tick for most NSE stocks): mostly one step, sometimes two or three.
GAP_STEPS = (1, 1, 1, 1, 2, 2, 3)


class InstrumentDay:
    """One instrument's session so far, in IST days: the day's open, high, low, volume and traded value,
    and the close it is measured against (the previous day's last price once the feed has seen one)."""

    __slots__ = ("previous_close", "open", "high", "low", "last", "volume", "turnover")

    def __init__(self, previous_close: Decimal):
        self.previous_close = previous_close
        self.last = None
        self.start()

    def start(self) -> None:
        if self.last is not None:
            self.previous_close = self.last
        self.open = self.high = self.low = None
        self.volume = 0
        self.turnover = 0.0

    def trade(self, price: Decimal, volume: int) -> None:
        if self.open is None:
            self.open = self.high = self.low = price
        elif price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.last = price
        self.volume += volume
        self.turnover += float(price) * volume


def depth_side(rng: random.Random, *, start: int, direction: int, step: int, price: float, tick: Decimal):
    """Five levels from `start` ticks outwards (`direction` -1 for bids, +1 for asks), each one or more
    base steps beyond the last; quantities lognormal around DEPTH_LEVEL_VALUE, growing with depth."""
    levels = []
    ticks = start
    median = math.log(max(DEPTH_LEVEL_VALUE / max(price, 0.01), 1.0))
    for level in range(DEPTH_LEVELS):
        if ticks < 1:  # a price a few ticks above zero has fewer bid levels
            break
        quantity = max(1, int(rng.lognormvariate(median, 0.8) * (1 + 0.25 * level)))
        orders = max(1, min(quantity, int(rng.lognormvariate(1.3, 0.7))))
        levels.append(DepthLevel(ticks * tick, quantity, orders))
        ticks += direction * step * rng.choice(GAP_STEPS)
    return tuple(levels)


def quote_of(rng: random.Random, day: InstrumentDay, price: Decimal, tick: Decimal, volume: int, at: datetime):
    """The full-mode quote after a trade at `price`: the day's figures and a book around the price."""
    price_ticks = int(price / tick)
    step = max(1, round(float(price) * 0.00002 / float(tick)))
    bids = depth_side(
        rng, start=price_ticks - step * rng.choice(GAP_STEPS), direction=-1, step=step, price=float(price), tick=tick
    )
    asks = depth_side(
        rng, start=price_ticks + step * rng.choice(GAP_STEPS), direction=1, step=step, price=float(price), tick=tick
    )
    # The whole book's totals: the five levels shown are part of it.
    buy_quantity = int(sum(level.quantity for level in bids) * rng.uniform(3.0, 8.0))
    sell_quantity = int(sum(level.quantity for level in asks) * rng.uniform(3.0, 8.0))
    quantum = min(tick, Decimal("0.01"))
    average = Decimal(repr(day.turnover / day.volume)).quantize(quantum, rounding=ROUND_HALF_UP)
    return Quote(
        mode="full",
        tradable=True,
        last_quantity=volume,
        average_price=average,
        volume=day.volume,
        buy_quantity=buy_quantity,
        sell_quantity=sell_quantity,
        open=day.open,
        high=day.high,
        low=day.low,
        close=day.previous_close,
        change=price - day.previous_close,
        last_trade_time=at,
        timestamp=at,
        depth_buy=bids,
        depth_sell=asks,
    )


class SimulatedFeed:
    """A seeded geometric random walk per instrument, rounded to the tick size, with volumes.

    The same seed, instruments and step count give the same prices. Ticks flow in NSE session hours
    (09:15-15:30 IST on weekdays) unless `always_open`. An instrument's tick carries its quote at most
    every `quote_seconds` (0: every tick), the instruments' turns spread over the steps so that no one
    batch builds them all; the first batch carries every instrument's.
    """

    def __init__(
        self,
        instruments: list[FeedInstrument],
        *,
        seed: int,
        ticks_per_second: float,
        volatility: float = 0.25,
        always_open: bool = False,
        quote_seconds: float = 1.0,
        now=timezone.now,
    ):
        if ticks_per_second <= 0:
            raise ValidationError(f"ticks per second must be positive, not {ticks_per_second}")
        if quote_seconds < 0:
            raise ValidationError(f"quote seconds must be 0 or more, not {quote_seconds}")
        if not instruments:
            raise ValidationError("the simulated feed has no instruments: seed some, or name them in FEED_INSTRUMENTS")
        self.instruments = instruments
        self.random = random.Random(seed)
        self.interval = 1.0 / ticks_per_second
        self.volatility = volatility
        self.always_open = always_open
        self.now = now
        self.prices = [float(instrument.reference_price) for instrument in instruments]
        # Depth has its own generator: the prices stay those of the same seed with or without quotes.
        self.depth_random = random.Random(seed + 1)
        self.days = [InstrumentDay(i.previous_close or i.reference_price) for i in instruments]
        self.today: date | None = None
        # Steps between an instrument's quotes, at least quote_seconds apart; the next step each is due.
        self.quote_every = max(1, math.ceil(quote_seconds / self.interval - 1e-9))
        self.quote_due = [0] * len(instruments)
        self.steps = 0

    def step(self, at: datetime) -> list[Tick]:
        sigma = self.volatility * intraday_profile(at) * math.sqrt(self.interval / TRADING_SECONDS_PER_YEAR)
        gauss, lognormal = self.random.gauss, self.random.lognormvariate
        today = at.astimezone(IST).date()
        if today != self.today:
            self.today = today
            for day in self.days:
                day.start()
        every, steps = self.quote_every, self.steps
        ticks = []
        for index, instrument in enumerate(self.instruments):
            self.prices[index] *= math.exp(gauss(0.0, sigma) - sigma * sigma / 2)
            volume = max(1, int(lognormal(4.0, 1.0) * intraday_profile(at)))
            price = to_tick(self.prices[index], instrument.tick_size)
            day = self.days[index]
            day.trade(price, volume)
            quote = None
            if steps >= self.quote_due[index]:
                # After the first, each instrument's turn is offset by its index, so turns spread out.
                self.quote_due[index] = steps + every if steps else every + index % every
                quote = quote_of(self.depth_random, day, price, instrument.tick_size, volume, at)
            ticks.append(Tick(instrument.instrument_id, instrument.instrument_token, price, volume, at, quote))
        self.steps += 1
        return ticks

    async def batches(self) -> AsyncIterator[list[Tick]]:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            at = self.now()
            if self.always_open or session_open(at):
                yield self.step(at)
            due += self.interval
            delay = due - loop.time()
            if delay < -1:  # fell far behind (a long pause): carry on from now, don't burst
                due = loop.time()
            await asyncio.sleep(max(delay, 0))
