"""A replay of recorded ticks or bars from CSV files, as a feed."""

import asyncio
import csv
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from trading.feeds.base import SESSION_MINUTES, FeedInstrument, Tick
from tradingsite.exceptions import ValidationError
from tradingsite.ist import IST, SESSION_OPEN


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
