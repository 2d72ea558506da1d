"""Instrument master import, bars and quotes over the API, and replaying stored daily bars."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.test import Client

from tests.trading.conftest import instrument_make
from trading.feeds.base import feed_instruments
from trading.feeds.replay import ReplayFeed, replay_events_from_csv
from trading.feeds.runner import FeedRunner
from trading.market.bars import BarBuilder, bars_write
from trading.market.instruments import NIFTY_50, instruments_import, instruments_seed_demo
from trading.market.prices import price_key
from trading.models import DayBar, Instrument, MinuteBar
from tradingsite.exceptions import ValidationError

D = Decimal
IST = ZoneInfo("Asia/Kolkata")
HEADER = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,tick_size,lot_size,"
    "instrument_type,segment,exchange\n"
)


# Rows as Kite's instruments dump has them (https://api.kite.trade/instruments), the price a 0.0 placeholder.
KITE_ROWS = [
    "3813889,14898,CENTRALBK-BE,CENTRAL BANK OF INDIA,0.0,,0.0,0.05,1,EQ,NSE,NSE",
    "4531969,17703,MIDCAPIWIN-BL,ICICI PRU MIDCAP IWIN ETF,0.0,,0.0,0.01,1,EQ,NSE,NSE",
    "13432066,52469,NIFTY26DEC24000CE,NIFTY,0.0,2026-12-31,24000.0,0.05,75,CE,NFO-OPT,NFO",
]


def kite_master(*rows: str) -> bytes:
    return (HEADER + "".join(f"{row}\n" for row in rows)).encode()


@pytest.mark.django_db
def test_kites_instruments_csv_imports_every_row_and_a_second_import_updates_in_place(tmp_path):
    master = tmp_path / "instruments.csv"
    master.write_bytes(kite_master(*KITE_ROWS))

    out = StringIO()
    call_command("instruments_import", str(master), stdout=out)
    again = instruments_import(master.read_bytes())

    assert out.getvalue().strip() == "3 instruments created, 0 updated"
    assert (again.created, again.updated, again.replaced) == (0, 3, 0)
    stored = Instrument.objects.get(instrument_token=3813889)
    assert (stored.exchange_token, stored.tradingsymbol, stored.name, stored.exchange, stored.tick_size) == (
        14898,
        "CENTRALBK-BE",
        "CENTRAL BANK OF INDIA",
        "NSE",
        D("0.05"),
    )
    assert stored.last_price is None  # Kite's 0.0 placeholder is not a price
    option = Instrument.objects.get(instrument_token=13432066)
    assert (option.segment, option.lot_size, option.strike, str(option.expiry)) == (
        "NFO-OPT",
        75,
        D("24000"),
        "2026-12-31",
    )


@pytest.mark.django_db
def test_kites_master_over_the_demo_seed_replaces_each_symbol_in_place_and_its_orders_follow(place, tmp_path):
    # given the demo's NIFTY 50 (made-up tokens) and an order of alice's on its RELIANCE
    instruments_seed_demo()
    seeded = Instrument.objects.get(exchange="NSE", tradingsymbol="RELIANCE")
    order = place(seeded, quantity=2)
    master = tmp_path / "instruments.csv"
    master.write_bytes(kite_master("738561,2885,RELIANCE,RELIANCE INDUSTRIES,0.0,,0.0,0.05,1,EQ,NSE,NSE", KITE_ROWS[0]))

    # when Kite's master, with RELIANCE under Kite's token, is imported
    out = StringIO()
    call_command("instruments_import", str(master), stdout=out)

    # then the seeded RELIANCE took Kite's token and fields, and the order still points at it
    assert out.getvalue().strip() == (
        "1 instruments created, 0 updated, 1 replaced (same exchange and symbol, stored under another instrument token)"
    )
    replaced = Instrument.objects.get(exchange="NSE", tradingsymbol="RELIANCE")
    assert (replaced.pk, replaced.instrument_token, replaced.exchange_token) == (seeded.pk, 738561, 2885)
    assert replaced.name == "RELIANCE INDUSTRIES" and replaced.last_price == seeded.last_price
    order.refresh_from_db()
    assert order.instrument_id == seeded.pk and order.instrument.instrument_token == 738561
    assert not Instrument.objects.filter(instrument_token=seeded.instrument_token).exists()
    assert Instrument.objects.count() == 51
    # and the next import finds it by Kite's token
    assert str(instruments_import(master.read_bytes())) == "0 instruments created, 2 updated"


def test_kites_master_fetched_from_kite_over_the_demo_seed_replaces_the_seeded_symbols(kite):
    # given the demo's NIFTY 50, four of which Kite's master (as the fake Kite serves it) has under Kite's tokens
    instruments_seed_demo()
    seeded = Instrument.objects.get(exchange="NSE", tradingsymbol="TCS")
    out = StringIO()

    call_command("instruments_import", "--from-kite", "alice-kite", "--exchange", "NSE", stdout=out)

    assert out.getvalue().strip() == (
        "1 instruments created, 0 updated, 4 replaced (same exchange and symbol, stored under another instrument token)"
    )
    tcs = Instrument.objects.get(exchange="NSE", tradingsymbol="TCS")
    assert (tcs.pk, tcs.instrument_token, tcs.name) == (seeded.pk, 2953217, "TATA CONSULTANCY SERV LT")


@pytest.mark.django_db
def test_a_row_taking_a_symbol_another_instrument_keeps_is_refused_and_nothing_is_replaced():
    # given the demo's INFY, and Kite's INFY token already stored under another symbol
    instruments_seed_demo()
    demo_infy = Instrument.objects.get(exchange="NSE", tradingsymbol="INFY")
    instrument_make("INFY-BE", 408065, "1500.00")
    reliance_token = Instrument.objects.get(exchange="NSE", tradingsymbol="RELIANCE").instrument_token
    reliance = "738561,2885,RELIANCE,RELIANCE INDUSTRIES,0.0,,0.0,0.05,1,EQ,NSE,NSE"

    with pytest.raises(ValidationError) as refused:
        instruments_import(kite_master(reliance, "408065,1594,INFY,INFOSYS,0.0,,0.0,0.05,1,EQ,NSE,NSE"))
    with pytest.raises(ValidationError, match="line 3: NSE:RELIANCE is on line 2 too"):
        instruments_import(kite_master(reliance, reliance.replace("738561", "738562")))

    assert str(refused.value) == (
        f"line 3: NSE:INFY is instrument token {demo_infy.instrument_token} here, and this row gives that symbol "
        "to token 408065, which is NSE:INFY-BE here"
    )
    assert Instrument.objects.get(exchange="NSE", tradingsymbol="RELIANCE").instrument_token == reliance_token
    assert Instrument.objects.get(instrument_token=408065).tradingsymbol == "INFY-BE"


@pytest.mark.django_db
def test_latin1_and_bom_encoded_masters_import_with_their_names_intact():
    latin1 = (HEADER + "111,1,CAFE,CAFÉ ROYAL,0.0,,0.0,0.05,1,EQ,NSE,NSE\n").encode("latin-1")
    bom = ("\ufeff" + HEADER + "222,2,NIFTY26DECFUT,NIFTY,0.0,2026-12-31,0.0,0.1,75,FUT,NFO-FUT,NFO\n").encode()

    instruments_import(latin1)
    instruments_import(bom)

    assert Instrument.objects.get(instrument_token=111).name == "CAFÉ ROYAL"
    future = Instrument.objects.get(instrument_token=222)
    assert (future.lot_size, future.tick_size, str(future.expiry)) == (75, D("0.1"), "2026-12-31")


@pytest.mark.django_db
def test_a_bad_row_names_its_line_and_changes_nothing_already_stored(reliance):
    bad = (
        HEADER + "333,3,GOOD,GOOD,0.0,,0.0,0.05,1,EQ,NSE,NSE\n" + "738561,3,RELIANCE,X,0.0,,0.0,zero,1,EQ,NSE,NSE\n"
    ).encode()

    with pytest.raises(ValidationError, match=r"line 3: tick_size 'zero' is not a number"):
        instruments_import(bad)
    with pytest.raises(CommandError, match="not a Kite instruments CSV: missing columns"):
        call_command("instruments_import", str(Path(__file__)), stdout=StringIO())

    assert not Instrument.objects.filter(instrument_token=333).exists()
    reliance.refresh_from_db()
    assert reliance.name == "RELIANCE"


@pytest.mark.django_db
def test_the_demo_seed_adds_the_nifty_50_once():
    assert instruments_seed_demo() == 50
    assert instruments_seed_demo() == 0
    assert Instrument.objects.filter(exchange="NSE").count() == len(NIFTY_50) == 50


@pytest.mark.django_db
def test_bars_api_serves_an_interval_and_range_and_names_bad_parameters(client_for, alice, reliance):
    builder = BarBuilder()
    start = datetime(2026, 11, 18, 3, 45, tzinfo=UTC)  # 09:15 IST
    for minute in range(30):
        builder.add(reliance.pk, D("2500.00") + minute, 10, start + timedelta(minutes=minute))
    bars_write(builder.drain())
    client = client_for(alice)
    url = f"/api/v1/instruments/{reliance.instrument_token}/bars"

    five = client.get(url, {"interval": "5m", "start": "2026-11-18T09:15:00+05:30", "end": "2026-11-18T10:00:00+05:30"})
    latest = client.get(url, {"interval": "1m", "start": start.isoformat(), "limit": 2, "end": "2026-11-18T12:00:00Z"})

    assert five.status_code == 200
    assert five.json()[0] == {
        "ts": "2026-11-18T09:15:00+05:30",
        "open": "2500.00",
        "high": "2504.00",
        "low": "2500.00",
        "close": "2504.00",
        "volume": 50,
    }
    assert len(five.json()) == 6
    assert [bar["close"] for bar in latest.json()] == ["2528.00", "2529.00"]
    wrong = client.get(url, {"interval": "2m"})
    assert wrong.status_code == 400 and "interval" in wrong.json()["error"]["details"]
    assert client.get("/api/v1/instruments/1/bars").status_code == 404
    assert Client().get(url).status_code in (401, 403)


@pytest.mark.django_db
def test_quotes_come_from_redis_and_fall_back_to_the_database(client_for, alice, reliance, infy):
    cache.delete(price_key(infy.instrument_token))  # Redis has none for INFY: the stored price answers
    client = client_for(alice)

    response = client.get("/api/v1/quotes", {"instruments": f"{reliance.instrument_token},{infy.instrument_token},5"})

    assert response.status_code == 200
    assert response.json() == [
        {
            "instrument_token": 408065,
            "exchange": "NSE",
            "tradingsymbol": "INFY",
            "last_price": "1500.00",
            "source": "database",
            "previous_close": None,
            "market": None,
        },
        {
            "instrument_token": 738561,
            "exchange": "NSE",
            "tradingsymbol": "RELIANCE",
            "last_price": "2500.00",
            "source": "redis",
            "previous_close": None,
            "market": None,
        },
    ]
    bad = client.get("/api/v1/quotes", {"instruments": "RELIANCE"})
    assert bad.status_code == 400 and "whole numbers" in str(bad.json())


def test_the_days_change_is_measured_from_the_previous_close_else_todays_open(client_for, alice, reliance, infy):
    # given RELIANCE with daily bars for the last two sessions, and INFY with only today's minute bars
    now = datetime.now(UTC)
    today = datetime.combine(now.astimezone(IST).date(), datetime.min.time(), tzinfo=IST)
    for days_back, close in ((2, "2400.00"), (1, "2450.00")):
        DayBar.objects.create(
            instrument=reliance,
            ts=today - timedelta(days=days_back),
            open=D(close),
            high=D(close),
            low=D(close),
            close=D(close),
            volume=10,
        )
    DayBar.objects.create(instrument=reliance, ts=today, open=D("1"), high=D("1"), low=D("1"), close=D("1"), volume=1)
    builder = BarBuilder()
    builder.add(infy.pk, D("1490.00"), 5, today + timedelta(hours=4))
    builder.add(infy.pk, D("1510.00"), 5, today + timedelta(hours=5))
    bars_write(builder.drain())

    # when the quotes are asked for
    quotes = client_for(alice).get("/api/v1/quotes", {"instruments": "738561,408065"}).json()

    # then RELIANCE's is yesterday's close (not today's bar) and INFY's today's first price
    assert {q["tradingsymbol"]: q["previous_close"] for q in quotes} == {"RELIANCE": "2450.00", "INFY": "1490.00"}


def daily_bars_csv(*, sessions: int) -> list[str]:
    """Daily bars as the data folder's files have them (Yahoo's columns and float prices), one line a
    weekday from 2020-01-01."""
    lines = ["Date,Adj Close,Close,High,Low,Open,Volume"]
    day = date(2020, 1, 1)
    while len(lines) <= sessions:
        if day.weekday() < 5:
            n = len(lines)
            opening, close = 730.0999755859375 + 3 * n, 731.8499755859375 + 3 * n - 2 * (n % 3)
            high, low = max(opening, close) + 4.25, min(opening, close) - 3.5
            lines.append(f"{day.isoformat()},{close * 0.86},{close},{high},{low},{opening},{2112415 + 1000 * n}")
        day += timedelta(days=1)
    return lines


@pytest.mark.django_db(transaction=True)
def test_replaying_stored_daily_bars_rebuilds_the_same_daily_bars(tmp_path):
    instrument_make("INFY", 408065, "1500.00")
    lines = daily_bars_csv(sessions=20)
    sample = tmp_path / "INFY.csv"  # the symbol comes from the file name, as in the data folder
    sample.write_text("\n".join(lines) + "\n")
    events = replay_events_from_csv(sample)
    instruments = {i.tradingsymbol: i for i in feed_instruments()}

    asyncio.run(FeedRunner(ReplayFeed(events, instruments, speed=0), flush_seconds=0).run())

    from trading.market.bars import bars_rollup

    bars_rollup("1d", since=datetime(2019, 12, 1, tzinfo=UTC), until=datetime(2020, 3, 1, tzinfo=UTC))
    days = list(DayBar.objects.order_by("ts"))
    assert len(days) == 20 and MinuteBar.objects.count() == 20 * 4
    for day, line in zip(days, lines[1:], strict=True):
        session, _adj, close, high, low, opening, volume = line.split(",")
        q = D("0.01")
        assert (day.open, day.high, day.low, day.close) == tuple(D(v).quantize(q) for v in (opening, high, low, close))
        assert day.volume == int(float(volume))
        assert day.ts.astimezone(UTC).date().isoformat() <= session
