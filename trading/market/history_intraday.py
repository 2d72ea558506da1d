"""A few sessions of simulated 1-minute history for the demo, so intraday charts have bars on first start.

Each instrument without minute bars gets a seeded random walk over the last few NSE sessions (09:15 to
15:30 IST on weekdays, today's up to now) that ends at its last price, so the history joins the
simulated feed's prices. Each session's close is pinned to the instrument's daily bar of that day where
there is one (the daily backfill's), so the minute bars, the hours and days rolled up from them, and the
daily history agree. Volumes are higher at the open and into the close. Instruments that have minute
bars (from the feed, an import, or an earlier start) are left alone.
"""

import math
import zlib
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from trading.market.bars import bars_rollup, month_after, month_start, partition_create
from trading.models import DayBar, Instrument, MinuteBar
from tradingsite.ist import IST, SESSION_CLOSE, SESSION_OPEN

SESSIONS = 5
SESSION_LENGTH = (SESSION_CLOSE.hour * 60 + SESSION_CLOSE.minute) - (SESSION_OPEN.hour * 60 + SESSION_OPEN.minute)
DAILY_SIGMA = 0.015  # as the daily history's walk
OVERNIGHT_SIGMA = 0.006  # the gap from a close to the next session's open
# A typical minute trades about this many rupees of an instrument, so share counts scale with its price.
MINUTE_VALUE = 2_000_000.0


def session_minutes(now: datetime, sessions: int) -> list[list[datetime]]:
    """The minutes (UTC) of the last `sessions` weekday sessions, oldest first; today's only up to the
    minute before `now` (the feed is writing the current one), and only once it has started."""
    local = now.astimezone(IST)
    days: list[date] = []
    day = local.date()
    while len(days) < sessions:
        if day.weekday() < 5 and (day < local.date() or local.time() >= SESSION_OPEN):
            days.append(day)
        day -= timedelta(days=1)
    end = now.replace(second=0, microsecond=0)
    minutes = []
    for day in reversed(days):
        opening = datetime.combine(day, SESSION_OPEN, tzinfo=IST)
        session = [opening + timedelta(minutes=m) for m in range(SESSION_LENGTH)]
        session = [minute for minute in session if minute < end]
        if session:
            minutes.append(session)
    return minutes


def volume_profile(length: int) -> np.ndarray:
    """Relative volume through the session: high at the open, low at midday, raised into the close."""
    minute = np.arange(length, dtype=float)
    return 1.0 + 2.5 * np.exp(-minute / 20) + 1.5 * np.exp(-(SESSION_LENGTH - 1 - minute) / 25)


def minute_walk(
    rng: np.random.Generator, *, last: int, tick: float, lengths: list[int], closes: list[float | None]
) -> tuple[np.ndarray, ...]:
    """Open, high, low and close in ticks, and volume, per minute over sessions of `lengths` minutes. The
    last close is `last` ticks; a session with a close in `closes` ends there (the walk bends evenly to
    meet it)."""
    profile = np.concatenate([volume_profile(n) for n in lengths])
    # Volatility grows with the square root of the traded volume.
    sigma = DAILY_SIGMA / math.sqrt(SESSION_LENGTH) * np.sqrt(profile / profile.mean())
    steps = rng.normal(0.0, sigma)
    gaps = np.zeros_like(steps)
    starts = np.cumsum([0, *lengths[:-1]])
    gaps[starts[1:]] = rng.normal(0.0, OVERNIGHT_SIGMA, size=len(lengths) - 1)
    walk = np.cumsum(gaps + steps)
    # Pin the ends: each known session close, and the last price at the very end.
    ends = np.cumsum(lengths) - 1
    pinned = [(end, math.log(close / tick)) for end, close in zip(ends[:-1], closes[:-1], strict=True) if close]
    pinned.append((ends[-1], math.log(last)))
    at, targets = zip(*pinned, strict=True)
    log_close = walk + np.interp(np.arange(len(walk)), at, np.array(targets) - walk[list(at)])
    log_open = np.concatenate([[log_close[0] - steps[0]], log_close[:-1] + gaps[1:]])
    wicks = np.abs(rng.normal(0.0, sigma * 0.6, size=(2, len(walk))))
    log_high = np.maximum(log_open, log_close) + wicks[0]
    log_low = np.minimum(log_open, log_close) - wicks[1]

    def ticks(logs):
        return np.maximum(np.rint(np.exp(logs)), 1).astype(np.int64)

    median = np.log(max(MINUTE_VALUE / (last * tick), 1.0) * profile / profile.mean())
    volume = np.maximum(1, rng.lognormal(median, 0.6)).astype(np.int64)
    close = ticks(log_close)
    close[-1] = last  # exactly, not through exp(log())
    return ticks(log_open), ticks(log_high), ticks(log_low), close, volume


# Prices travel as whole ticks and are made exact in the database; every array goes as one text literal,
# which PostgreSQL parses far faster than a driver adapts a list of 100,000 Decimals.
MINUTE_INSERT = """
INSERT INTO trading_minutebar (instrument_id, ts, open, high, low, close, volume)
SELECT v.instrument_id, to_timestamp(v.epoch), v.open * i.tick_size, v.high * i.tick_size, v.low * i.tick_size,
       v.close * i.tick_size, v.volume
  FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])
       AS v(instrument_id, epoch, open, high, low, close, volume)
  JOIN trading_instrument i ON i.id = v.instrument_id
ON CONFLICT (instrument_id, ts) DO NOTHING
"""


def array_literal(values: np.ndarray) -> str:
    return "{" + ",".join(map(str, values.tolist())) + "}"


def intraday_backfill_demo(now: datetime | None = None, sessions: int = SESSIONS) -> int:
    """Backfill 1-minute bars, and the hours rolled up from them, for priced instruments that have no
    minute bars; returns how many instruments were filled."""
    now = now or timezone.now()
    days = session_minutes(now, sessions)
    if not days:
        return 0
    epochs = np.array([int(minute.timestamp()) for day in days for minute in day], dtype=np.int64)
    lengths = [len(day) for day in days]
    day_starts = [datetime.combine(day[0].astimezone(IST).date(), time(0, 0), tzinfo=IST) for day in days]
    instruments = list(
        Instrument.objects.exclude(last_price=None)
        .filter(~Exists(MinuteBar.objects.filter(instrument_id=OuterRef("pk"))))
        .order_by("pk")
    )
    if not instruments:
        return 0
    day_closes = {
        (instrument_id, ts): float(close)
        for instrument_id, ts, close in DayBar.objects.filter(
            instrument__in=instruments, ts__in=day_starts
        ).values_list("instrument_id", "ts", "close")
    }
    columns = [[] for _ in range(7)]
    for instrument in instruments:
        rng = np.random.default_rng([zlib.crc32(instrument.tradingsymbol.encode()), 1])
        tick = instrument.tick_size
        last = int((instrument.last_price / tick).to_integral_value())
        closes = [day_closes.get((instrument.pk, start)) for start in day_starts]
        walk = minute_walk(rng, last=last, tick=float(tick), lengths=lengths, closes=closes)
        for column, values in zip(columns, (np.full(len(epochs), instrument.pk), epochs, *walk), strict=True):
            column.append(values)
    first, last_minute = days[0][0], days[-1][-1]
    with transaction.atomic():
        month = month_start(first)
        while month <= last_minute:
            partition_create(month)
            month = month_after(month)
        with connection.cursor() as cursor:
            cursor.execute(MINUTE_INSERT, [array_literal(np.concatenate(column)) for column in columns])
        bars_rollup("1h", since=first, until=last_minute + timedelta(minutes=1))
    return len(instruments)
