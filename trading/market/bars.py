"""OHLCV bars: built from ticks by the feed, stored per minute, rolled up to hours and days.

Minute bars live in a table partitioned by month (UTC months). Buckets are aligned to the Indian
session: minutes on the minute, 5/15-minute and hourly buckets from 09:15 IST (the NSE open, as Kite's
candles are), days from midnight IST.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from tradingsite.exceptions import ValidationError

# Bucket origins for date_bin: the session open for intraday buckets, midnight IST for days.
SESSION_ORIGIN = "2000-01-03 09:15:00+05:30"
DAY_ORIGIN = "2000-01-03 00:00:00+05:30"

INTERVALS = {
    # name: (source table, bucket width, origin); None width means the table's own bars as stored
    "1m": ("trading_minutebar", None, None),
    "5m": ("trading_minutebar", "5 minutes", SESSION_ORIGIN),
    "15m": ("trading_minutebar", "15 minutes", SESSION_ORIGIN),
    "1h": ("trading_hourbar", None, None),
    "1d": ("trading_daybar", None, None),
}


@dataclass
class Bar:
    instrument_id: int
    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int


def minute_of(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(second=0, microsecond=0)


class BarBuilder:
    """Folds ticks into 1-minute bar increments in memory; `drain` hands them over for `bars_write`.

    An increment holds the ticks since the last drain: its open is its first price, which becomes the
    bar's open only if the bar is new (the stored bar keeps its own otherwise). Ticks arrive in time
    order per instrument, as every feed delivers them.
    """

    def __init__(self):
        self.increments: dict[tuple[int, datetime], Bar] = {}

    def add(self, instrument_id: int, price: Decimal, volume: int, ts: datetime) -> None:
        key = (instrument_id, minute_of(ts))
        bar = self.increments.get(key)
        if bar is None:
            self.increments[key] = Bar(instrument_id, key[1], price, price, price, price, volume)
            return
        if price > bar.high:
            bar.high = price
        elif price < bar.low:
            bar.low = price
        bar.close = price
        bar.volume += volume

    def drain(self) -> list[Bar]:
        bars = list(self.increments.values())
        self.increments = {}
        return bars


MINUTE_UPSERT = """
INSERT INTO trading_minutebar AS b (instrument_id, ts, open, high, low, close, volume)
SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::numeric[], %s::numeric[], %s::numeric[],
                     %s::numeric[], %s::bigint[])
ON CONFLICT (instrument_id, ts) DO UPDATE SET
    high = greatest(b.high, excluded.high),
    low = least(b.low, excluded.low),
    close = excluded.close,
    volume = b.volume + excluded.volume
"""


def bars_write(bars: list[Bar]) -> None:
    """Merge increments into stored minute bars: a new bar is inserted; an existing one keeps its open,
    widens its high and low, takes the latest close and adds the volume."""
    if not bars:
        return
    rows = [
        [bar.instrument_id for bar in bars],
        [bar.ts for bar in bars],
        [bar.open for bar in bars],
        [bar.high for bar in bars],
        [bar.low for bar in bars],
        [bar.close for bar in bars],
        [bar.volume for bar in bars],
    ]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(MINUTE_UPSERT, rows)
    except DatabaseError as exc:
        if "no partition" not in str(exc):
            raise
        for month in sorted({month_start(bar.ts) for bar in bars}):
            partition_create(month)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(MINUTE_UPSERT, rows)


# The intervals stored as they come (Kite's history, CSV imports); the others are rolled up from minutes.
STORED_TABLES = {"minute": "trading_minutebar", "day": "trading_daybar"}

BARS_UPSERT = """
INSERT INTO {table} AS b (instrument_id, ts, open, high, low, close, volume)
SELECT %s, * FROM unnest(%s::timestamptz[], %s::numeric[], %s::numeric[], %s::numeric[], %s::numeric[], %s::bigint[])
ON CONFLICT (instrument_id, ts) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume
"""


def price_stored(value) -> Decimal:
    """A price as the bar tables keep it: to the paisa, half up, from a float's shortest repr
    (736.8499755859375 is 736.85)."""
    return Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def bars_store(instrument_id: int, interval: str, rows) -> int:
    """Write whole bars (ts, open, high, low, close, volume) of one instrument, replacing stored ones
    at the same times; minute partitions are created as needed."""
    if not rows:
        return 0
    times = [row[0] for row in rows]
    if interval == "minute":
        month = month_start(min(times))
        while month <= max(times):
            partition_create(month)
            month = month_after(month)
    columns = list(zip(*rows, strict=True))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            BARS_UPSERT.format(table=STORED_TABLES[interval]),
            [instrument_id, times, *([price_stored(v) for v in columns[k]] for k in range(1, 5))]
            + [[int(v) for v in columns[5]]],
        )
    return len(rows)


def month_start(ts: datetime) -> datetime:
    ts = ts.astimezone(UTC)
    return datetime(ts.year, ts.month, 1, tzinfo=UTC)


def month_after(month: datetime) -> datetime:
    return datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(month: datetime) -> str:
    return f"trading_minutebar_{month:%Y_%m}"


def partition_create(month: datetime) -> str:
    name = partition_name(month)
    # DDL takes no bound parameters; the bounds are timestamps made here, written as literals.
    bounds = f"FROM ('{month.isoformat()}') TO ('{month_after(month).isoformat()}')"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF trading_minutebar FOR VALUES {bounds}")
    return name


def partitions_ensure(months_ahead: int | None = None, now: datetime | None = None) -> list[str]:
    """Create this month's minute-bar partition and the next `months_ahead` (idempotent)."""
    months_ahead = settings.BARS_PARTITIONS_AHEAD if months_ahead is None else months_ahead
    month = month_start(now or timezone.now())
    names = []
    for _ in range(months_ahead + 1):
        names.append(partition_create(month))
        month = month_after(month)
    return names


def partitions() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'trading_minutebar'::regclass ORDER BY c.relname"
        )
        return [row[0] for row in cursor.fetchall()]


ROLLUP_SQL = """
INSERT INTO {target} AS b (instrument_id, ts, open, high, low, close, volume)
SELECT instrument_id, date_bin(%(width)s::interval, ts, %(origin)s::timestamptz) AS bucket,
       (array_agg(open ORDER BY ts))[1], max(high), min(low), (array_agg(close ORDER BY ts DESC))[1], sum(volume)
  FROM trading_minutebar
 WHERE ts >= date_bin(%(width)s::interval, %(since)s::timestamptz, %(origin)s::timestamptz)
   AND ts < %(until)s
 GROUP BY 1, 2
ON CONFLICT (instrument_id, ts) DO UPDATE SET
    open = excluded.open, high = excluded.high, low = excluded.low, close = excluded.close, volume = excluded.volume
"""

ROLLUPS = {
    "1h": ("trading_hourbar", "1 hour", SESSION_ORIGIN),
    "1d": ("trading_daybar", "1 day", DAY_ORIGIN),
}


def bars_rollup(interval: str, *, since: datetime, until: datetime | None = None) -> int:
    """Recompute the `interval` bars whose buckets overlap [since, until) from the minute bars.

    Whole buckets are recomputed (the first from its start), so running it again, or over a bucket still
    in progress, gives the same rows as aggregating the minute table directly.
    """
    target, width, origin = ROLLUPS[interval]
    until = until or timezone.now() + timedelta(minutes=1)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            ROLLUP_SQL.format(target=target), {"width": width, "origin": origin, "since": since, "until": until}
        )
        return cursor.rowcount


def bars_retention_apply(now: datetime | None = None) -> dict:
    """Drop minute-bar months wholly older than the retention, delete older rows in the boundary month,
    and delete hourly bars past theirs. Day bars are kept."""
    now = now or timezone.now()
    minute_cutoff = now - timedelta(days=settings.BARS_MINUTE_RETENTION_DAYS)
    hour_cutoff = now - timedelta(days=settings.BARS_HOUR_RETENTION_DAYS)
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        for name in partitions():
            year, month = (int(part) for part in name.rsplit("_", 2)[-2:])
            if month_after(datetime(year, month, 1, tzinfo=UTC)) <= minute_cutoff:
                cursor.execute(f"DROP TABLE {name}")
                dropped.append(name)
        cursor.execute("DELETE FROM trading_minutebar WHERE ts < %s", [minute_cutoff])
        minute_rows = cursor.rowcount
        cursor.execute("DELETE FROM trading_hourbar WHERE ts < %s", [hour_cutoff])
        hour_rows = cursor.rowcount
    return {"partitions_dropped": dropped, "minute_rows_deleted": minute_rows, "hour_rows_deleted": hour_rows}


def bars_history(instrument_id: int, interval: str, *, start: datetime, end: datetime, limit: int) -> list[dict]:
    """Bars of one instrument in [start, end), oldest first, at most `limit` (the latest ones)."""
    if interval not in INTERVALS:
        raise ValidationError(
            f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}", code="interval_invalid"
        )
    if end <= start:
        raise ValidationError("'to' must be after 'from'", code="range_invalid")
    table, width, origin = INTERVALS[interval]
    if width is None:
        sql = f"""
            SELECT ts, open, high, low, close, volume FROM {table}
             WHERE instrument_id = %(instrument)s AND ts >= %(start)s AND ts < %(end)s
             ORDER BY ts DESC LIMIT %(limit)s"""
    else:
        sql = """
            SELECT date_bin(%(width)s::interval, ts, %(origin)s::timestamptz) AS bucket,
                   (array_agg(open ORDER BY ts))[1], max(high), min(low),
                   (array_agg(close ORDER BY ts DESC))[1], sum(volume)::bigint
              FROM trading_minutebar
             WHERE instrument_id = %(instrument)s AND ts >= %(start)s AND ts < %(end)s
             GROUP BY 1 ORDER BY 1 DESC LIMIT %(limit)s"""
    params = {"instrument": instrument_id, "start": start, "end": end, "limit": limit, "width": width, "origin": origin}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    keys = ("ts", "open", "high", "low", "close", "volume")
    return [dict(zip(keys, row, strict=True)) for row in reversed(rows)]


def bars_default_start(instrument_id: int, interval: str, *, end: datetime, limit: int) -> datetime | None:
    """Where "the latest `limit` bars before `end`" begin: the start of the limit-th latest row of the
    interval's source table (5 and 15 minute bars take that many minutes per bar). None when there are
    fewer rows (then all of them). So a chart opened on a weekend, or days after the feed last ran, shows
    the last sessions rather than an empty day, and the query stays bounded by the index."""
    table, width, _ = INTERVALS[interval]
    rows_per_bar = {"5 minutes": 5, "15 minutes": 15}.get(width, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT ts FROM {table} WHERE instrument_id = %s AND ts < %s ORDER BY ts DESC OFFSET %s LIMIT 1",  # noqa: S608 - table from INTERVALS
            [instrument_id, end, limit * rows_per_bar - 1],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def bars_rollup_recent() -> None:
    """Recompute the hourly bars of the last two hours and today's daily bars from the minute bars."""
    now = timezone.now()
    bars_rollup("1h", since=now - timedelta(hours=2))
    bars_rollup("1d", since=now - timedelta(days=1))


def bars_maintain() -> None:
    """Minute-bar partitions ahead of time, then retention."""
    partitions_ensure()
    bars_retention_apply()
