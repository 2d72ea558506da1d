from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from trading.market.bars import (
    BarBuilder,
    bars_history,
    bars_retention_apply,
    bars_rollup,
    bars_write,
    partitions,
    partitions_ensure,
)
from trading.models import DayBar, HourBar, MinuteBar
from tradingsite.exceptions import ValidationError

D = Decimal


def at(hh: int, mm: int, ss: int = 0, day: int = 18) -> datetime:
    """A time on 2026-11-<day> given in IST, as UTC."""
    return datetime(2026, 11, day, hh, mm, ss, tzinfo=UTC) - timedelta(hours=5, minutes=30)


def minute_rows(instrument):
    return [
        (bar.ts, bar.open, bar.high, bar.low, bar.close, bar.volume)
        for bar in MinuteBar.objects.filter(instrument=instrument).order_by("ts")
    ]


@pytest.mark.django_db
def test_bars_from_a_known_tick_sequence_equal_the_hand_computed_ohlcv(reliance):
    # given ticks over three minutes, written to the database in two flushes mid-minute
    builder = BarBuilder()
    ticks = [
        (at(9, 15, 1), "2500.00", 10),
        (at(9, 15, 20), "2502.50", 5),
        (at(9, 15, 40), "2498.05", 7),
        (at(9, 15, 59), "2499.00", 3),
        (at(9, 16, 0), "2499.10", 1),
        (at(9, 16, 30), "2497.00", 2),
    ]
    for ts, price, volume in ticks[:3]:
        builder.add(reliance.pk, D(price), volume, ts)
    bars_write(builder.drain())
    for ts, price, volume in ticks[3:]:
        builder.add(reliance.pk, D(price), volume, ts)
    bars_write(builder.drain())
    builder.add(reliance.pk, D("2501.00"), 4, at(9, 18, 5))  # a minute with no ticks before it
    bars_write(builder.drain())

    # then each minute's open is its first tick, high/low its extremes, close its last, volume the sum
    assert minute_rows(reliance) == [
        (at(9, 15), D("2500.00"), D("2502.50"), D("2498.05"), D("2499.00"), 25),
        (at(9, 16), D("2499.10"), D("2499.10"), D("2497.00"), D("2497.00"), 3),
        (at(9, 18), D("2501.00"), D("2501.00"), D("2501.00"), D("2501.00"), 4),
    ]


def random_minutes(instrument, days=(17, 18)):
    """Minute bars over two sessions, prices wandering, volumes varying; returns them as written."""
    import random

    rng = random.Random(7)
    builder = BarBuilder()
    price = D("1500.00")
    for day in days:
        start = at(9, 15, day=day)
        for minute in range(375):
            for second in (0, 20, 40):
                price = max(D("1.00"), price + D(rng.randint(-20, 20)) * D("0.05"))
                builder.add(
                    instrument.pk, price, rng.randint(1, 500), start + timedelta(minutes=minute, seconds=second)
                )
    bars_write(builder.drain())


def aggregated_directly(instrument, width: timedelta, origin: datetime):
    """The rollup computed in Python from the minute table: the reference the SQL must equal."""
    buckets = {}
    for ts, o, h, low, c, v in minute_rows(instrument):
        bucket = origin + ((ts - origin) // width) * width
        if bucket not in buckets:
            buckets[bucket] = [o, h, low, c, v]
        else:
            b = buckets[bucket]
            b[1], b[2], b[3], b[4] = max(b[1], h), min(b[2], low), c, b[4] + v
    return [(ts, *values) for ts, values in sorted(buckets.items())]


@pytest.mark.django_db
def test_hourly_and_daily_rollups_equal_bars_aggregated_directly_from_the_minute_table(infy):
    random_minutes(infy)

    bars_rollup("1h", since=at(0, 0, day=17), until=at(23, 59, day=18))
    bars_rollup("1d", since=at(0, 0, day=17), until=at(23, 59, day=18))
    bars_rollup("1h", since=at(12, 0, day=18), until=at(23, 59, day=18))  # re-running changes nothing

    hours = [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in HourBar.objects.order_by("ts")]
    days = [(b.ts, b.open, b.high, b.low, b.close, b.volume) for b in DayBar.objects.order_by("ts")]
    assert hours == aggregated_directly(infy, timedelta(hours=1), at(9, 15, day=17))
    assert days == aggregated_directly(infy, timedelta(days=1), at(0, 0, day=17))
    assert len(hours) == 2 * 7 and hours[0][0] == at(9, 15, day=17)  # 09:15-10:15 ... 15:15-15:30
    assert len(days) == 2


@pytest.mark.django_db
def test_five_and_fifteen_minute_history_is_aggregated_from_minutes_aligned_to_the_open(infy):
    random_minutes(infy, days=(18,))

    fifteen = bars_history(infy.pk, "15m", start=at(9, 0), end=at(16, 0), limit=1000)
    five = bars_history(infy.pk, "5m", start=at(9, 0), end=at(16, 0), limit=3)

    expected = aggregated_directly(infy, timedelta(minutes=15), at(9, 15))
    assert [(b["ts"], b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in fifteen] == expected
    assert [b["ts"] for b in five] == [at(15, 15), at(15, 20), at(15, 25)]  # the latest three, oldest first


@pytest.mark.django_db
def test_bars_history_refuses_an_unknown_interval_and_an_empty_range(infy):
    with pytest.raises(ValidationError, match="interval must be one of 1m, 5m, 15m, 1h, 1d"):
        bars_history(infy.pk, "2m", start=at(9, 0), end=at(10, 0), limit=10)
    with pytest.raises(ValidationError, match="'to' must be after 'from'"):
        bars_history(infy.pk, "1m", start=at(10, 0), end=at(9, 0), limit=10)


@pytest.mark.django_db
def test_partitions_are_made_ahead_and_on_demand_for_an_old_month(reliance):
    made = partitions_ensure(months_ahead=3, now=datetime(2027, 11, 5, tzinfo=UTC))
    assert made == [f"trading_minutebar_{m}" for m in ("2027_11", "2027_12", "2028_01", "2028_02")]

    builder = BarBuilder()
    builder.add(reliance.pk, D("2400.00"), 5, datetime(2024, 3, 4, 4, 0, tzinfo=UTC))  # a replayed old bar
    bars_write(builder.drain())

    assert "trading_minutebar_2024_03" in partitions()
    assert minute_rows(reliance)[0][0] == datetime(2024, 3, 4, 4, 0, tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ONLY trading_minutebar_2024_03")
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_retention_drops_old_minute_months_and_old_hours_and_keeps_days(reliance, settings):
    settings.BARS_MINUTE_RETENTION_DAYS = 90
    settings.BARS_HOUR_RETENTION_DAYS = 730
    now = datetime(2026, 11, 20, tzinfo=UTC)
    builder = BarBuilder()
    for ts in (
        datetime(2026, 7, 10, 4, tzinfo=UTC),  # a month wholly past 90 days: its partition goes
        datetime(2026, 8, 20, 4, tzinfo=UTC),  # past 90 days, in the boundary month: the row goes
        datetime(2026, 8, 25, 4, tzinfo=UTC),  # within 90 days: kept
    ):
        builder.add(reliance.pk, D("2500.00"), 1, ts)
    bars_write(builder.drain())
    bars_rollup("1h", since=datetime(2026, 7, 1, tzinfo=UTC), until=now)
    bars_rollup("1d", since=datetime(2026, 7, 1, tzinfo=UTC), until=now)
    old_hour = HourBar.objects.first()
    HourBar.objects.create(
        instrument=reliance, ts=datetime(2024, 10, 1, 4, tzinfo=UTC), open=1, high=1, low=1, close=1, volume=1
    )

    result = bars_retention_apply(now=now)

    assert result["partitions_dropped"] == ["trading_minutebar_2026_07"]
    assert result["minute_rows_deleted"] == 1
    assert [row[0] for row in minute_rows(reliance)] == [datetime(2026, 8, 25, 4, tzinfo=UTC)]
    assert result["hour_rows_deleted"] == 1
    assert HourBar.objects.filter(ts=old_hour.ts).exists()
    assert DayBar.objects.count() == 3


@pytest.mark.django_db
def test_the_bars_api_without_dates_shows_the_last_session_even_days_after_it(infy, alice):
    from tests.conftest import api_for

    random_minutes(infy, days=(18,))  # a Wednesday's session; the request comes days later
    client = api_for(alice)
    answers = {
        interval: client.get(f"/api/v1/instruments/{infy.instrument_token}/bars?interval={interval}").json()
        for interval in ("1m", "5m", "15m")
    }

    assert len(answers["1m"]) == 375
    assert answers["1m"][-1]["ts"] == "2026-11-18T15:29:00+05:30"  # the session's last minute (shown in IST)
    assert len(answers["5m"]) == 75
    assert len(answers["15m"]) == 25
    # and a start given by the client is kept as given: nothing before it
    late = client.get(f"/api/v1/instruments/{infy.instrument_token}/bars?interval=1m&start=2026-11-18T09:00:00Z")
    assert [bar["ts"] >= "2026-11-18T14:30" for bar in late.json()] == [True] * 60  # 09:00 UTC is 14:30 IST
