"""The instrument master and historical candles from a fake Kite, through the real kiteconnect client:
long ranges in the spans Kite accepts, at most three requests a second, stored once however often run."""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from tests.fakes.kite import IST_ZONE, detailed_candles
from tests.trading.conftest import instrument_make
from trading.models import DayBar, HourBar, Instrument, MinuteBar

pytestmark = pytest.mark.django_db
D = Decimal


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_instrument_master_comes_from_kites_dump(kite):
    rows = kite.instruments

    shown = run("instruments_import", "--from-kite", "alice-kite", "--exchange", "NSE")

    assert shown.strip() == f"{len(rows)} instruments created, 0 updated"
    central = Instrument.objects.get(instrument_token=3813889)
    assert (central.tradingsymbol, central.exchange, central.tick_size, central.lot_size) == (
        "CENTRALBK-BE",
        "NSE",
        D("0.05"),
        1,
    )
    assert ("GET", "/instruments/NSE", {}) in kite.calls
    assert run("instruments_import", "--from-kite", "alice-kite", "--exchange", "NSE").strip() == (
        f"0 instruments created, {len(rows)} updated"
    )


def test_a_long_range_of_minute_candles_comes_in_spans_kite_accepts_paced_and_stored_once(settings, kite):
    settings.KITE_HISTORICAL_RETRY_SECONDS = 0.1
    infy = instrument_make("INFY", 408065, "1500.00")
    kite.next_historical = ["429"]  # Kite says slow down once

    shown = run("kite_history", "NSE:INFY", "--account", "alice-kite", "--from", "2017-10-01", "--to", "2018-02-15")

    # 138 days: spans of at most 60 days, back to back, the refused one asked again
    asked = [(start, end) for _, start, end in kite.historical]
    assert asked[0] == asked[1] and len(asked) == 4
    spans = asked[1:]
    assert spans[0][0] == datetime(2017, 10, 1, tzinfo=IST_ZONE) and spans[-1][1] == datetime(
        2018, 2, 15, 23, 59, 59, tzinfo=IST_ZONE
    )
    assert all(end - start < timedelta(days=60) for start, end in spans)
    assert all(later[0] - earlier[1] == timedelta(seconds=1) for earlier, later in zip(spans, spans[1:], strict=False))
    # never faster than Kite's three a second: the only 429 is the one injected
    assert kite.rate_limited == 1
    official = detailed_candles()
    weekdays = sum(1 for n in range(138) if (date(2017, 10, 1) + timedelta(days=n)).weekday() < 5)
    assert shown.strip() == f"{len(official) + weekdays - 1} minute candles stored from 3 requests"
    first = MinuteBar.objects.get(instrument=infy, ts=datetime(2017, 12, 15, 9, 15, tzinfo=IST_ZONE))
    assert (first.open, first.high, first.low, first.close, first.volume) == tuple(
        [D(str(value)) for value in official[0][1:5]] + [official[0][5]]
    )
    day = DayBar.objects.get(instrument=infy, ts=datetime(2017, 12, 15, tzinfo=IST_ZONE))
    assert (day.open, day.high, day.low, day.close, day.volume) == (
        D(str(official[0][1])),
        D(str(max(c[2] for c in official))),
        D(str(min(c[3] for c in official))),
        D(str(official[-1][4])),
        sum(c[5] for c in official),
    )
    assert HourBar.objects.filter(instrument=infy).exists()
    # importing the range again replaces the candles rather than adding volume
    run("kite_history", "NSE:INFY", "--account", "alice-kite", "--from", "2017-12-15", "--to", "2017-12-15")
    assert MinuteBar.objects.get(pk=first.pk).volume == 2499


def test_bad_history_requests_say_what_is_wrong(kite):
    instrument_make("INFY", 408065, "1500.00")
    with pytest.raises(CommandError, match="'NSE:NOPE' names no instrument"):
        run("kite_history", "NSE:NOPE", "--account", "alice-kite", "--from", "2024-01-01", "--to", "2024-01-02")
    with pytest.raises(CommandError, match="ends .* before it starts"):
        run("kite_history", "NSE:INFY", "--account", "alice-kite", "--from", "2024-02-01", "--to", "2024-01-02")
    with pytest.raises(CommandError, match="'2024-13-01' is not a date"):
        run("kite_history", "NSE:INFY", "--account", "alice-kite", "--from", "2024-13-01", "--to", "2024-01-02")
    with pytest.raises(CommandError, match="no Kite-linked account is called 'nobody'"):
        run("kite_history", "NSE:INFY", "--account", "nobody", "--from", "2024-01-01", "--to", "2024-01-02")
