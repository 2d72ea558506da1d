"""Market-data feeds: where ticks come from. The feed process (`feed_runner`) consumes any of them.

A feed is an async iterable of batches of `Tick`s, in time order per instrument, paced by the feed
itself: the simulated feed by its tick rate, a replay by its speed, Kite's by the market.
"""

import asyncio
import csv
import math
import random
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.utils import timezone

from tradingsite.exceptions import ValidationError
from tradingsite.ist import IST

SESSION_OPEN = time(9, 15)
SESSION_CLOSE = time(15, 30)
SESSION_MINUTES = 375
# Seconds of trading in a year: 252 sessions of 6 h 15 min; scales annual volatility to a tick.
TRADING_SECONDS_PER_YEAR = 252 * SESSION_MINUTES * 60


@dataclass(frozen=True)
class FeedInstrument:
    instrument_id: int
    instrument_token: int
    tradingsymbol: str
    tick_size: Decimal
    reference_price: Decimal


@dataclass(frozen=True, slots=True)
class DepthLevel:
    price: Decimal
    quantity: int
    orders: int


@dataclass(frozen=True, slots=True)
class Quote:
    """What an exchange feed says beyond the traded price (Kite's quote and full modes): the day's
    totals, OHLC, open interest and five levels of depth. Fields a mode does not carry are None."""

    mode: str  # ltp, quote or full
    tradable: bool
    last_quantity: int | None = None
    average_price: Decimal | None = None
    volume: int | None = None  # the day's traded volume so far
    buy_quantity: int | None = None
    sell_quantity: int | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None  # the previous session's close
    change: Decimal | None = None  # last price less the previous close
    last_trade_time: datetime | None = None
    oi: int | None = None
    oi_day_high: int | None = None
    oi_day_low: int | None = None
    timestamp: datetime | None = None  # the exchange's time of the tick
    depth_buy: tuple[DepthLevel, ...] = ()
    depth_sell: tuple[DepthLevel, ...] = ()

    def as_message(self) -> dict:
        """JSON-ready: Decimals as strings, times as ISO 8601, fields the mode does not carry left out."""
        message = {"mode": self.mode, "tradable": self.tradable}
        for name in QUOTE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                message[name] = value if isinstance(value, int) else str(value)
        for name in ("last_trade_time", "timestamp"):
            value = getattr(self, name)
            if value is not None:
                message[name] = value.isoformat()
        if self.depth_buy or self.depth_sell:
            message["depth_buy"] = [
                {"price": str(level.price), "quantity": level.quantity, "orders": level.orders}
                for level in self.depth_buy
            ]
            message["depth_sell"] = [
                {"price": str(level.price), "quantity": level.quantity, "orders": level.orders}
                for level in self.depth_sell
            ]
        return message


QUOTE_FIELDS = (
    "last_quantity",
    "average_price",
    "volume",
    "buy_quantity",
    "sell_quantity",
    "open",
    "high",
    "low",
    "close",
    "change",
    "oi",
    "oi_day_high",
    "oi_day_low",
)


@dataclass(frozen=True, slots=True)
class Tick:
    instrument_id: int
    instrument_token: int
    price: Decimal
    volume: int  # traded since the instrument's previous tick
    ts: datetime  # when the feed produced (or the market printed) it
    quote: Quote | None = None


def session_open(at: datetime) -> bool:
    local = at.astimezone(IST)
    return local.weekday() < 5 and SESSION_OPEN <= local.time() < SESSION_CLOSE


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


@dataclass(frozen=True)
class ReplayEvent:
    ts: datetime
    tradingsymbol: str
    price: Decimal
    volume: int


class ReplayFeed:
    """Plays stored events (ticks, or bars as open-low-high-close ticks) at `speed` times real time
    (0: as fast as possible). Ticks keep their recorded timestamps, so replayed bars land where the
    originals were."""

    def __init__(self, events: Iterable[ReplayEvent], instruments: dict[str, FeedInstrument], *, speed: float):
        if speed < 0:
            raise ValidationError(f"replay speed must be 0 or more, not {speed}")
        self.events = sorted(events, key=lambda event: event.ts)
        missing = sorted({event.tradingsymbol for event in self.events} - set(instruments))
        if missing:
            raise ValidationError(f"the replay names instruments that are not in the instrument master: {missing}")
        self.instruments = instruments
        self.speed = speed

    async def batches(self) -> AsyncIterator[list[Tick]]:
        loop = asyncio.get_running_loop()
        started, first = loop.time(), None
        index = 0
        while index < len(self.events):
            ts = self.events[index].ts
            first = first or ts
            if self.speed:
                delay = started + (ts - first).total_seconds() / self.speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            batch = []
            while index < len(self.events) and self.events[index].ts == ts:
                event = self.events[index]
                instrument = self.instruments[event.tradingsymbol]
                batch.append(
                    Tick(instrument.instrument_id, instrument.instrument_token, event.price, event.volume, event.ts)
                )
                index += 1
            yield batch
            if not self.speed:
                await asyncio.sleep(0)


def bar_as_ticks(ts: datetime, symbol: str, o, h, low, c, volume: int, width: timedelta) -> list[ReplayEvent]:
    """A bar as four ticks spread over its interval: open, the nearer extreme, the other, close."""
    path = (o, low, h, c) if c >= o else (o, h, low, c)
    step = width / 4
    share, rest = divmod(volume, 4)
    return [ReplayEvent(ts + step * n, symbol, price, share + (rest if n == 3 else 0)) for n, price in enumerate(path)]


def replay_events_from_csv(path: Path) -> list[ReplayEvent]:
    """Read ticks (timestamp, tradingsymbol, price[, volume]) or bars (Date/timestamp, Open, High, Low,
    Close[, Volume]; the symbol from a tradingsymbol column or the file name) from a CSV file or a folder
    of them. Daily bars are played inside the session of their date."""
    files = sorted(path.glob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise ValidationError(f"no CSV files in {path}")
    events: list[ReplayEvent] = []
    for file in files:
        events.extend(_csv_events(file))
    return events


def _csv_events(file: Path) -> list[ReplayEvent]:
    with file.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = {name.strip().lower(): name for name in reader.fieldnames or []}
        time_column = columns.get("timestamp") or columns.get("date") or columns.get("ts")
        if time_column is None:
            raise ValidationError(f"{file}: no timestamp or date column (columns: {reader.fieldnames})")
        is_bars = all(name in columns for name in ("open", "high", "low", "close"))
        if not is_bars and "price" not in columns:
            raise ValidationError(f"{file}: needs a price column, or open/high/low/close columns")
        events = []
        for line, row in enumerate(reader, start=2):
            try:
                symbol = (row[columns["tradingsymbol"]] if "tradingsymbol" in columns else file.stem).strip()
                ts, width = _parse_time(row[time_column])
                volume = int(float(row[columns["volume"]] or 0)) if "volume" in columns else 0
                if is_bars:
                    o, h, low, c = (
                        Decimal(row[columns[name]]).quantize(Decimal("0.01"))
                        for name in ("open", "high", "low", "close")
                    )
                    events.extend(bar_as_ticks(ts, symbol, o, h, low, c, volume, width))
                else:
                    events.append(ReplayEvent(ts, symbol, Decimal(row[columns["price"]]), volume))
            except (ArithmeticError, ValueError, KeyError) as exc:
                raise ValidationError(f"{file}, line {line}: cannot read {dict(row)}: {exc}") from exc
        return events


def _parse_time(text: str) -> tuple[datetime, timedelta]:
    """A timestamp (naive ones are IST), or a date (its session, for daily bars)."""
    text = text.strip()
    if len(text) == 10:
        day = datetime.fromisoformat(text).date()
        start = datetime.combine(day, SESSION_OPEN, tzinfo=IST)
        return start.astimezone(UTC), timedelta(minutes=SESSION_MINUTES)
    ts = datetime.fromisoformat(text)
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=IST)
    return ts.astimezone(UTC), timedelta(minutes=1)
