"""A year of simulated daily history for the demo, so charts and backtests have bars on first start.

Each instrument without daily bars gets a seeded random walk over the past year's weekdays that ends
at its reference price, so the history joins the simulated feed's prices; instruments that have
bars (imported, or from an earlier start) are left alone.
"""

import zlib
from datetime import datetime, time, timedelta
from decimal import Decimal

import numpy as np
from django.utils import timezone

from trading.market.bars import bars_store
from trading.models import DayBar, Instrument
from tradingsite.ist import IST

DAYS = 252
DAILY_SIGMA = 0.015


def history_backfill_demo(now: datetime | None = None, days: int = DAYS) -> int:
    """Backfill daily bars for instruments that have none; returns how many instruments were filled."""
    today = (now or timezone.now()).astimezone(IST).date()
    weekdays = []
    day = today - timedelta(days=1)
    while len(weekdays) < days:
        if day.weekday() < 5:
            weekdays.append(day)
        day -= timedelta(days=1)
    weekdays.reverse()
    have = set(DayBar.objects.values_list("instrument_id", flat=True).distinct())
    filled = 0
    for instrument in Instrument.objects.exclude(pk__in=have).exclude(last_price=None).order_by("pk"):
        rng = np.random.default_rng(zlib.crc32(instrument.tradingsymbol.encode()))
        tick = float(instrument.tick_size)
        steps = rng.normal(0, DAILY_SIGMA, size=days)
        # Walk backwards from the reference price: the last close is the price the feed starts from.
        closes = float(instrument.last_price) * np.exp(-np.concatenate([[0.0], np.cumsum(steps[:0:-1])])[::-1])
        opens = np.concatenate([[closes[0]], closes[:-1]]) * (1 + rng.normal(0, 0.003, size=days))
        wicks = np.abs(rng.normal(0, 0.006, size=(2, days)))
        highs = np.maximum(opens, closes) * (1 + wicks[0])
        lows = np.minimum(opens, closes) * (1 - wicks[1])

        def on_tick(values, tick=tick):
            return [Decimal(str(round(round(v / tick) * tick, 2))) for v in values]

        rows = [
            (datetime.combine(d, time(0, 0), tzinfo=IST), o, h, lo, c, int(v))
            for d, o, h, lo, c, v in zip(
                weekdays,
                on_tick(opens),
                on_tick(highs),
                on_tick(lows),
                on_tick(closes),
                rng.integers(100_000, 5_000_000, size=days),
                strict=True,
            )
        ]
        bars_store(instrument.pk, "day", rows)
        filled += 1
    return filled
