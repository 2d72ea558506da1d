"""Bars from CSV files: daily or minute OHLCV, with an adjusted close where the file has one.

Columns are found by name, in any order and case: Date (or Datetime, Timestamp), Open, High, Low,
Close, Volume, and optionally Adj Close. A daily row's date is the IST trading day (stored at
midnight IST, as the rolled-up daily bars are); a minute row's time without an offset is IST. With
`adjusted`, open, high, low and close are scaled by the row's Adj Close / Close, so splits and
dividends do not show as price jumps. Any row that cannot be read stops the import with the file,
line and reason, before anything is written.
"""

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path

from tradingsite.exceptions import ValidationError
from tradingsite.ist import IST

NAMES = {
    "ts": ("date", "datetime", "timestamp", "time"),
    "open": ("open",),
    "high": ("high",),
    "low": ("low",),
    "close": ("close",),
    "volume": ("volume",),
    "adj_close": ("adj close", "adj_close", "adjusted close", "adjclose"),
}


@dataclass
class CsvBars:
    rows: list[tuple]  # (ts, open, high, low, close, volume)
    skipped: int  # rows with no prices (a holiday marked with empty or null fields)


def columns_found(header: list[str], path: Path) -> dict[str, int]:
    lowered = [name.strip().lower() for name in header]
    repeated = sorted({name for name in header if lowered.count(name.strip().lower()) > 1})
    if repeated:
        raise ValidationError(
            f"{path.name}: the header names {', '.join(repeated)} more than once (several instruments' columns "
            "in one file?), so which column is this instrument's cannot be told"
        )
    found = {}
    for key, names in NAMES.items():
        for name in names:
            if name in lowered:
                found[key] = lowered.index(name)
                break
    missing = [key for key in ("ts", "open", "high", "low", "close", "volume") if key not in found]
    if missing:
        raise ValidationError(f"{path.name}: no {', '.join(missing)} column (the header is {', '.join(header)})")
    return found


# What the bar tables hold: prices to the paisa in 14 digits, volumes in a bigint, times in years a
# market has traded (and a month's partition can be made for).
PRICE_LEAST, PRICE_MOST = Decimal("0.005"), Decimal("999999999999.995")  # 0.01 and 999999999999.99, rounded
VOLUME_MOST = 2**63 - 1
YEARS = range(1900, 2100)


def when(text: str, interval: str) -> datetime:
    text = text.strip()
    if interval == "day":
        moment = datetime.combine(date.fromisoformat(text[:10]), time(0, 0), tzinfo=IST)
    else:
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=IST)
    if moment.year not in YEARS:
        raise ValueError(f"{text!r} is not between {YEARS[0]} and {YEARS[-1]}")
    return moment


def number(cells: dict, key: str) -> Decimal:
    try:
        return Decimal(cells[key])
    except InvalidOperation:
        raise ValueError(f"{key} {cells[key]!r} is not a number") from None


def shares(text: str) -> int:
    try:
        volume = Decimal(text) if text else Decimal(0)
    except InvalidOperation:
        volume = Decimal("NaN")
    if not volume.is_finite() or not -VOLUME_MOST <= volume <= VOLUME_MOST:  # compared: abs() can overflow
        raise ValueError(f"volume {text!r} is not a number of shares")
    return int(volume)


def text_of(path: Path) -> str:
    """The file as UTF-8 text (a spreadsheet's byte-order mark dropped); other bytes are refused by line."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValidationError(
            f"{path.name} line {line}: not UTF-8 text (byte {raw[exc.start]:#04x} at offset {exc.start})"
        ) from None


def bars_csv_read(path: Path, *, interval: str, adjusted: bool = False) -> CsvBars:
    if interval not in ("day", "minute"):
        raise ValidationError(f"interval must be 'day' or 'minute', not {interval!r}")
    reader = csv.reader(io.StringIO(text_of(path), newline=""))
    try:
        return rows_read(reader, path, interval=interval, adjusted=adjusted)
    except csv.Error as exc:  # a field past the csv module's limit (128 KiB)
        raise ValidationError(f"{path.name} line {reader.line_num}: not readable as CSV ({exc})") from None


def storable(prices: list[Decimal], cells: dict, path: Path, line: int, *, scaled: bool = False) -> None:
    if not all(PRICE_LEAST <= value < PRICE_MOST for value in prices):
        # The cells as written (shortened), not the numbers: 1e99999999 written out is a hundred million digits.
        shown = ", ".join(f"{key} {cells[key][:24]!r}" for key in ("open", "high", "low", "close"))
        raise ValidationError(
            f"{path.name} line {line}: prices must lie from 0.01 to 999999999999.99 to be stored to the paisa"
            f"{' once scaled by Adj Close / Close' if scaled else ''} ({shown})"
        )


def rows_read(reader, path: Path, *, interval: str, adjusted: bool) -> CsvBars:
    header = next(reader, None)
    if not header:
        raise ValidationError(f"{path.name} is empty")
    at = columns_found(header, path)
    if adjusted and "adj_close" not in at:
        raise ValidationError(f"{path.name}: --adjusted needs an Adj Close column")
    rows, skipped, seen = [], 0, set()
    for line, record in enumerate(reader, start=2):
        if not record:
            continue
        cells = {key: record[index].strip() if index < len(record) else "" for key, index in at.items()}
        if all(cells[key] in ("", "null", "NaN") for key in ("open", "high", "low", "close")):
            skipped += 1
            continue
        try:
            ts = when(cells["ts"], interval)
            ohlc = [number(cells, key) for key in ("open", "high", "low", "close")]
            volume = shares(cells["volume"])
            adj_close = number(cells, "adj_close") if adjusted else None
        except (ValueError, OverflowError) as exc:
            raise ValidationError(f"{path.name} line {line}: cannot read {record!r} ({exc})") from None
        if not all(value.is_finite() for value in ohlc):
            raise ValidationError(f"{path.name} line {line}: prices must be numbers, not {record!r}")
        if min(ohlc) <= 0 or volume < 0:
            raise ValidationError(f"{path.name} line {line}: prices must be positive and volume not negative")
        storable(ohlc, cells, path, line)  # before scaling too: the product of huge numbers overflows
        if adjusted:
            if not (adj_close.is_finite() and PRICE_LEAST <= adj_close < PRICE_MOST):
                raise ValidationError(f"{path.name} line {line}: Adj Close {cells['adj_close']!r} is not a price")
            factor = adj_close / ohlc[3]
            ohlc = [value * factor for value in ohlc]
            storable(ohlc, cells, path, line, scaled=True)
        if not ohlc[2] <= min(ohlc[0], ohlc[3]) or not ohlc[1] >= max(ohlc[0], ohlc[3]):
            raise ValidationError(f"{path.name} line {line}: high and low do not contain open and close")
        if ts in seen:
            raise ValidationError(f"{path.name} line {line}: {cells['ts']} appears twice")
        seen.add(ts)
        rows.append((ts, *ohlc, volume))
    rows.sort(key=lambda row: row[0])
    return CsvBars(rows, skipped)
