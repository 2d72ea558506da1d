"""The demo's intraday history: minute bars of the last sessions, so a fresh demo's 1-minute chart is full."""

import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.trading.conftest import instrument_make
from trading.market.bars import BarBuilder, bars_write
from trading.market.history_demo import history_backfill_demo
from trading.market.history_intraday import intraday_backfill_demo
from trading.market.instruments import instruments_seed_demo
from trading.models import DayBar, Instrument, MinuteBar
from tradingsite.ist import IST

D = Decimal
pytestmark = pytest.mark.django_db
# A Wednesday, mid-session: today's bars run from 09:15 to 11:59, after four whole sessions (Thu to Tue).
NOW = datetime(2026, 11, 18, 12, 0, 30, tzinfo=IST)
TUESDAY = datetime(2026, 11, 17, tzinfo=IST)


def bars(client, instrument, interval: str, start: datetime) -> list[dict]:
    url = f"/api/v1/instruments/{instrument.instrument_token}/bars"
    params = {"interval": interval, "limit": 1000, "start": start.isoformat(), "end": NOW.isoformat()}
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_minute_history_fills_the_intraday_charts_and_ends_at_the_last_price(client_for, alice):
    # given RELIANCE without minute bars, its daily history backfilled, and INFY already with a minute bar
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    infy = instrument_make("INFY", 408065, "1500.00")
    history_backfill_demo(now=NOW)
    builder = BarBuilder()
    builder.add(infy.pk, D("1500.00"), 7, NOW - timedelta(minutes=5))
    bars_write(builder.drain())

    # when the demo backfills intraday history
    filled = intraday_backfill_demo(now=NOW)

    # then RELIANCE has every minute of five sessions up to now, and INFY is as it was
    assert filled == 1
    assert MinuteBar.objects.filter(instrument=reliance).count() == 4 * 375 + 165
    assert list(MinuteBar.objects.filter(instrument=infy).values_list("close", "volume")) == [(D("1500.00"), 7)]
    client = client_for(alice)
    minutes = bars(client, reliance, "1m", TUESDAY)
    assert len(minutes) == 375 + 165
    assert minutes[0]["ts"] == "2026-11-17T09:15:00+05:30" and minutes[-1]["ts"] == "2026-11-18T11:59:00+05:30"
    assert minutes[-1]["close"] == "2500.00"  # where the live feed carries on
    for bar in minutes:
        low, high, opening, close = (D(bar[k]) for k in ("low", "high", "open", "close"))
        assert low <= min(opening, close) <= max(opening, close) <= high and bar["volume"] > 0
        assert all(D(bar[k]) % D("0.05") == 0 for k in ("open", "high", "low", "close"))
    assert len({bar["close"] for bar in minutes}) > 50  # it moves
    # Tuesday's last minute closes where Tuesday's daily bar does
    tuesday_close = DayBar.objects.get(instrument=reliance, ts=TUESDAY).close
    assert D(minutes[374]["close"]) == tuesday_close
    # busier at the open than at midday
    tuesday = minutes[:375]
    assert sum(b["volume"] for b in tuesday[:15]) > 2 * sum(b["volume"] for b in tuesday[165:180])

    # and the 5-minute, 15-minute and hourly charts come out of them
    for interval, per_session, today in (("5m", 75, 33), ("15m", 25, 11), ("1h", 7, 3)):
        found = bars(client, reliance, interval, TUESDAY)
        assert len(found) == per_session + today, interval
        assert found[-1]["close"] == "2500.00"
        assert sum(b["volume"] for b in found) == sum(b["volume"] for b in minutes)

    assert intraday_backfill_demo(now=NOW) == 0  # a second start leaves them alone


def test_before_the_open_and_at_the_weekend_the_last_whole_sessions_are_filled(db):
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    saturday = datetime(2026, 11, 21, 10, 0, tzinfo=IST)

    intraday_backfill_demo(now=saturday, sessions=2)

    stored = MinuteBar.objects.filter(instrument=reliance).order_by("ts")
    assert stored.count() == 2 * 375
    assert stored.first().ts.astimezone(IST).isoformat() == "2026-11-19T09:15:00+05:30"
    assert stored.last().ts.astimezone(IST).isoformat() == "2026-11-20T15:29:00+05:30"
    assert stored.last().close == D("2500.00")


def test_the_nifty_50s_five_sessions_are_written_in_a_few_seconds(db):
    instruments_seed_demo()

    started = time.perf_counter()
    filled = intraday_backfill_demo(now=NOW)
    took = time.perf_counter() - started

    assert filled == Instrument.objects.count() == 50
    assert MinuteBar.objects.count() == 50 * (4 * 375 + 165)
    assert took < 10, f"{took:.1f} s"
