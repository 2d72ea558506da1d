"""The instrument master and historical candles from Kite, through the official client.

Instruments: Kite's dump (all exchanges, or the ones named) goes through the same importer as a CSV file,
so the same checks apply and a bad row changes nothing.

Candles: Kite serves at most a fixed span per request (60 days of minute candles, 2000 of daily ones...)
and three historical requests a second per API key. A long range is split into spans Kite accepts, the
requests are paced to that rate across processes (a Redis counter per second, and spacing within this
process), and a rate-limit answer is retried after a pause. Minute candles are stored as minute bars
(replacing what was there for those minutes: Kite's candle is the record) and rolled up into hourly and
daily bars; daily candles are stored as daily bars.
"""

import csv
import io
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import requests
from django.conf import settings
from kiteconnect import exceptions as kite_errors

from trading.kite.client import kite_error_message, kite_live_client
from trading.market.bars import STORED_TABLES, bars_rollup, bars_store
from trading.market.instruments import KITE_COLUMNS, ImportResult, instruments_import
from trading.models import Instrument, KiteLink
from tradingsite.counters import counts_increment
from tradingsite.exceptions import ValidationError
from tradingsite.ist import IST

logger = logging.getLogger(__name__)

# The longest span Kite serves in one historical request, per interval.
CHUNK_DAYS = {
    "minute": 60,
    "3minute": 100,
    "5minute": 100,
    "10minute": 100,
    "15minute": 200,
    "30minute": 200,
    "60minute": 400,
    "day": 2000,
}
# The intervals the platform stores as they come; the others are rolled up from minutes.
RETRIES = 3


def kite_instruments_import(link: KiteLink, *, exchanges: set[str] | None = None) -> ImportResult:
    """Kite's instrument dump into the instrument master (all exchanges, or only `exchanges`)."""
    client = kite_live_client(link)
    rows = []
    try:
        for exchange in sorted(exchanges) if exchanges else [None]:
            rows.extend(client.instruments(exchange) if exchange else client.instruments())
    except (kite_errors.KiteException, requests.RequestException) as exc:
        raise ValidationError(f"Kite's instrument list could not be fetched: {kite_error_message(exc)}") from exc
    return instruments_import(rows_as_csv(rows), exchanges=exchanges)


def rows_as_csv(rows: list[dict]) -> bytes:
    """kiteconnect's parsed rows back to the dump's CSV (floats as written, dates ISO)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=KITE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                key: (
                    value.isoformat()
                    if hasattr(value, "isoformat")
                    else repr(value)
                    if isinstance(value, float)
                    else value
                )
                for key, value in row.items()
            }
        )
    return out.getvalue().encode()


def spans(start: datetime, end: datetime, interval: str) -> list[tuple[datetime, datetime]]:
    """[start, end] in consecutive spans Kite accepts for `interval` (both ends inclusive, to the second)."""
    if interval not in CHUNK_DAYS:
        raise ValidationError(f"Kite has no {interval!r} candles; it has {', '.join(CHUNK_DAYS)}")
    if end < start:
        raise ValidationError(f"the range ends ({end:%Y-%m-%d %H:%M}) before it starts ({start:%Y-%m-%d %H:%M})")
    width = timedelta(days=CHUNK_DAYS[interval])
    result = []
    at = start
    while at <= end:
        until = min(at + width - timedelta(seconds=1), end)
        result.append((at, until))
        at = until + timedelta(seconds=1)
    return result


class Pacer:
    """At most `per_second` calls a second per key: spaced within this process, counted across processes."""

    def __init__(self, per_second: int):
        self.per_second = per_second
        self.lock = threading.Lock()
        self.next_at = 0.0

    def wait(self, key: str) -> None:
        with self.lock:
            now = time.monotonic()
            if now < self.next_at:
                time.sleep(self.next_at - now)
            # a little over 1/rate apart, so no window of one second ever holds more than the rate
            self.next_at = max(now, self.next_at) + 1.0 / self.per_second + 0.01
        while True:
            second = int(time.time())
            try:
                (count,) = counts_increment([(f"kite:historical:{key}:{second}", 5)])
            except Exception:  # Redis down: the spacing above still holds this process to the rate
                return
            if count <= self.per_second:
                return
            time.sleep(max(second + 1 - time.time(), 0.01))


pacer = Pacer(3)


@dataclass
class HistoryResult:
    requests: int = 0
    candles: int = 0


def kite_history_import(
    link: KiteLink, *, instrument: Instrument, interval: str, start: datetime, end: datetime
) -> HistoryResult:
    """Kite's `interval` candles of `instrument` over [start, end] into the bar tables."""
    if interval not in STORED_TABLES:
        raise ValidationError(
            f"import 'minute' or 'day' candles ({interval!r} bars are rolled up from minutes, not stored)"
        )
    client = kite_live_client(link)
    result = HistoryResult()
    for first, last in spans(start, end, interval):
        candles = fetch(client, link, instrument, interval, first, last)
        result.requests += 1
        result.candles += candles_store(instrument, interval, candles)
    if interval == "minute" and result.candles:
        for rollup in ("1h", "1d"):
            bars_rollup(rollup, since=start, until=end + timedelta(minutes=1))
    return result


def fetch(client, link: KiteLink, instrument: Instrument, interval: str, first: datetime, last: datetime) -> list:
    for attempt in range(RETRIES + 1):
        pacer.wait(link.api_key)
        try:
            return client.historical_data(
                instrument.instrument_token,
                first.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S"),
                last.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S"),
                interval,
            )
        except kite_errors.NetworkException as exc:  # Kite's 429 among them: wait, then again
            if attempt == RETRIES:
                raise ValidationError(f"Kite's candles could not be fetched: {kite_error_message(exc)}") from exc
            time.sleep(settings.KITE_HISTORICAL_RETRY_SECONDS * (attempt + 1))
        except (kite_errors.KiteException, requests.RequestException) as exc:
            raise ValidationError(
                f"Kite refused the candles of {instrument.tradingsymbol} from {first:%Y-%m-%d} to {last:%Y-%m-%d}: "
                f"{kite_error_message(exc)}"
            ) from exc
    raise AssertionError("unreachable")


def candles_store(instrument: Instrument, interval: str, candles: list[dict]) -> int:
    rows = [(c["date"], c["open"], c["high"], c["low"], c["close"], c.get("volume") or 0) for c in candles]
    return bars_store(instrument.pk, interval, rows)
