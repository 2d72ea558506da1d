"""The simulated feed: a seeded random walk per instrument in NSE session hours."""

import asyncio
import math
import random
from collections.abc import AsyncIterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from trading.feeds.base import SESSION_MINUTES, TRADING_SECONDS_PER_YEAR, FeedInstrument, Tick
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


class SimulatedFeed:
    """A seeded geometric random walk per instrument, rounded to the tick size, with volumes.

    The same seed, instruments and step count give the same prices. Ticks flow in NSE session hours
    (09:15-15:30 IST on weekdays) unless `always_open`.
    """

    def __init__(
        self,
        instruments: list[FeedInstrument],
        *,
        seed: int,
        ticks_per_second: float,
        volatility: float = 0.25,
        always_open: bool = False,
        now=timezone.now,
    ):
        if ticks_per_second <= 0:
            raise ValidationError(f"ticks per second must be positive, not {ticks_per_second}")
        if not instruments:
            raise ValidationError("the simulated feed has no instruments: seed some, or name them in FEED_INSTRUMENTS")
        self.instruments = instruments
        self.random = random.Random(seed)
        self.interval = 1.0 / ticks_per_second
        self.volatility = volatility
        self.always_open = always_open
        self.now = now
        self.prices = [float(instrument.reference_price) for instrument in instruments]

    def step(self, at: datetime) -> list[Tick]:
        sigma = self.volatility * intraday_profile(at) * math.sqrt(self.interval / TRADING_SECONDS_PER_YEAR)
        gauss, lognormal = self.random.gauss, self.random.lognormvariate
        ticks = []
        for index, instrument in enumerate(self.instruments):
            self.prices[index] *= math.exp(gauss(0.0, sigma) - sigma * sigma / 2)
            volume = max(1, int(lognormal(4.0, 1.0) * intraday_profile(at)))
            price = to_tick(self.prices[index], instrument.tick_size)
            ticks.append(Tick(instrument.instrument_id, instrument.instrument_token, price, volume, at))
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
