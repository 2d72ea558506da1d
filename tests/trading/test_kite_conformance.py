"""Conformance with Kite's official mock responses (../shared/fixtures/kite-mocks): the official ticker
packets parse into ticks equal to the official JSON field by field, the fake Kite's own packets are the
official bytes, and the fake's REST answers carry every field of the official ones. These tests skip,
saying so, where the official files are absent (a user's clone); every other Kite test runs on the
fake's own answers."""

import struct
from datetime import datetime
from decimal import Decimal

import pytest

from tests.fakes.kite import FIXTURES, USER_ID, FakeKite, fixture, sample_full_packet, ticker_packet
from tests.threads import wait_for
from tests.trading.conftest import kite_place
from tests.trading.test_kite_feed import INFY, feed_for, run_with
from trading.market.instruments import instruments_import
from trading.models import Instrument
from tradingsite.ist import IST

D = Decimal


def as_fixture(value):
    """A platform value in the form the fixture JSON writes it."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(IST).isoformat()  # the fixture writes Kite's times in IST
    return value


def plain(value):
    """Nested platform values in the fixture's form."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return as_fixture(value)


def test_fixture_packets_become_ticks_equal_to_the_fixture_field_by_field(ticker):
    feed = feed_for(ticker, [INFY], mode="full")
    quote_packet, full_packet = ticker_packet("ticker_quote"), ticker_packet("ticker_full")

    def script(ticks):
        wait_for(lambda: ticker.subscribed() == {408065: "full"}, what="a full-mode subscription of INFY")
        ticker.send_ticks(lambda token, mode: quote_packet)
        wait_for(lambda: len(ticks) == 1, what="the quote tick")
        ticker.send_ticks(lambda token, mode: full_packet)
        wait_for(lambda: len(ticks) == 2, what="the full tick")
        ticker.send_ticks(lambda token, mode: ltp_packet)
        wait_for(lambda: len(ticks) == 3, what="the LTP tick")

    ltp = fixture("ticker_ltp.json")  # no packet published for LTP: 8 bytes, the token and the price in paise
    ltp_packet = struct.pack(">II", ltp["instrument_token"], round(ltp["last_price"] * 100))

    quote_tick, full_tick, ltp_tick = run_with(feed, script)

    assert (ltp_tick.quote.mode, ltp_tick.quote.tradable, ltp_tick.instrument_token, ltp_tick.price) == (
        ltp["mode"],
        ltp["tradable"],
        ltp["instrument_token"],
        D(str(ltp["last_price"])),
    )
    assert ltp_tick.quote.as_message() == {"mode": "ltp", "tradable": True} and ltp_tick.volume == 0
    for tick, expected in ((quote_tick, fixture("ticker_quote.json")), (full_tick, fixture("ticker_full.json"))):
        quote = tick.quote
        assert (tick.instrument_id, tick.instrument_token) == (1, expected["instrument_token"])
        assert tick.price == D(str(expected["last_price"]))
        record = {
            "mode": quote.mode,
            "tradable": quote.tradable,
            "instrument_token": tick.instrument_token,
            "last_price": tick.price,
            "last_quantity": quote.last_quantity,
            "average_price": quote.average_price,
            "volume": quote.volume,
            "buy_quantity": quote.buy_quantity,
            "sell_quantity": quote.sell_quantity,
            "ohlc": {"open": quote.open, "high": quote.high, "low": quote.low, "close": quote.close},
            "last_trade_time": quote.last_trade_time,
            "oi": quote.oi,
            "oi_day_high": quote.oi_day_high,
            "oi_day_low": quote.oi_day_low,
            "timestamp": quote.timestamp,
            "depth": {
                side: [{"price": lvl.price, "quantity": lvl.quantity, "orders": lvl.orders} for lvl in levels]
                for side, levels in (("buy", quote.depth_buy), ("sell", quote.depth_sell))
            },
        }
        for field, want in expected.items():
            if field == "change":
                continue  # below
            got = record[field]
            if isinstance(want, dict):
                got = {
                    k: [{n: as_fixture(x) for n, x in lvl.items()} for lvl in v]
                    if isinstance(v, list)
                    else as_fixture(v)
                    for k, v in got.items()
                }
            assert as_fixture(got) == want, field
        # the change from the previous close, exact: the full fixture's 5.9 is 1573.70 - 1567.80
        assert quote.change == tick.price - quote.close
    assert full_tick.quote.change == D(str(fixture("ticker_full.json")["change"])).quantize(D("0.01"))
    assert full_tick.ts == full_tick.quote.timestamp and full_tick.ts.utcoffset().total_seconds() == 0
    # bars count what traded between ticks: the day's volume grew by 16485 from the quote to the full tick
    assert (quote_tick.volume, full_tick.volume) == (0, 1192471 - 1175986)


def test_the_fakes_full_packet_is_the_official_packet_byte_for_byte():
    assert sample_full_packet() == ticker_packet("ticker_full")


def keys_of(name: str, pick) -> set[str]:
    return set(pick(fixture(name)))


@pytest.mark.django_db
def test_the_fakes_answers_carry_every_field_of_the_official_ones(kite, alice, infy):
    order = kite_place(kite, alice, infy, send=True)
    order.refresh_from_db()
    message = kite.fill(order.broker_order_id, 2, 1500.0)
    kite.holdings = [{"tradingsymbol": "INFY", "instrument_token": 408065, "quantity": 1}]
    client = kite_client_for(kite)

    answers = {
        "orders.json": (client.orders()[0], lambda f: f["data"][0]),
        "order_trades.json": (client.order_trades(order.broker_order_id)[0], lambda f: f["data"][0]),
        "trades.json": (client.trades()[0], lambda f: f["data"][0]),
        "positions.json": (client.positions()["net"][0], lambda f: f["data"]["net"][0]),
        "holdings.json": (client.holdings()[0], lambda f: f["data"][0]),
        "postback.json": (message, lambda f: f),
        "generate_session.json": (kite.session("token"), lambda f: f["data"]),
    }
    for name, (ours, pick) in answers.items():
        official = keys_of(name, pick) - {"mtf"}  # margin-trading holdings: not offered
        assert official <= set(ours), f"{name}: the fake lacks {sorted(official - set(ours))}"
    assert message["user_id"] == USER_ID
    header = (FIXTURES / "instruments_nse.csv").read_text().splitlines()[0]
    assert kite.instrument_dump("NSE").decode().splitlines()[0] == header


def kite_client_for(kite: FakeKite):
    from trading.kite.client import kite_client
    from trading.models import KiteLink

    return kite_client(KiteLink.objects.get(account=kite.account))


def test_the_official_minute_candles_have_the_fakes_shape():
    official = fixture("historical_minute.json")["data"]["candles"]
    assert all(len(row) == 6 and datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S%z") for row in official)


@pytest.mark.django_db
def test_the_shared_sample_of_kites_instruments_csv_imports_every_row():
    """Every row of the official sample of Kite's instrument dump imports."""
    path = FIXTURES / "instruments_nse.csv"
    if not path.exists():
        pytest.skip(f"the official Kite instrument dump is not at {path} (../shared/fixtures/kite-mocks)")
    raw = path.read_bytes()
    rows = raw.decode("utf-8-sig").strip().splitlines()[1:]

    result = instruments_import(raw)

    assert (result.created, result.updated, result.replaced) == (len(rows), 0, 0)
    token, exchange_token, symbol = rows[0].split(",")[:3]
    stored = Instrument.objects.get(instrument_token=int(token))
    assert (stored.exchange_token, stored.tradingsymbol) == (int(exchange_token), symbol)
