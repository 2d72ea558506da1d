"""Paper/backtest parity over 20 sessions of stored INFY minute bars: the live runner on the paper
exchange and the backtester fill the same orders at the same prices with the same charges."""

import io
import json
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from tests.trading.conftest import instrument_make
from trading.market.bars import bars_store
from trading.market.prices import price_last
from trading.models import Instrument, Order, Strategy, Trade

D = Decimal
pytestmark = pytest.mark.django_db


def sessions_of_minute_bars(instrument, first: date, sessions: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    price, rows, day = 1500.0, [], first
    while sessions:
        if day.weekday() < 5:
            opening = datetime(day.year, day.month, day.day, 3, 45, tzinfo=UTC)  # 09:15 IST
            for minute in range(375):
                open_ = round(price * 20) / 20
                price *= 1 + rng.gauss(0, 0.0012)
                close = round(price * 20) / 20
                high, low = max(open_, close) + 0.05 * rng.randint(0, 4), min(open_, close) - 0.05 * rng.randint(0, 4)
                rows.append((opening + timedelta(minutes=minute), open_, high, low, close, rng.randint(500, 5000)))
            sessions -= 1
        day += timedelta(days=1)
    bars_store(instrument.pk, "minute", rows)


def test_the_runner_on_the_paper_exchange_and_the_backtester_fill_20_sessions_identically(settings):
    settings.PAPER_SLIPPAGE_BPS = D("5")
    infy = instrument_make("INFY", 408065, "1500.00")
    sessions_of_minute_bars(infy, date(2026, 10, 5), 20)
    out = io.StringIO()
    args = ["sma_crossover", "NSE:INFY", "--from", "2026-10-05", "--to", "2026-11-06", "--interval", "5m"]
    call_command("strategy_parity", *args, "--params", '{"fast": 3, "slow": 12, "quantity": 7}', stdout=out)

    text = out.getvalue()
    report = json.loads(text[: text.rindex("}") + 1])
    assert report["bars"] == 20 * 75 and report["identical"], json.dumps(
        [report["differences"][:3], report["paper_orders_refused"]], default=str
    )
    assert report["fills"]["paper"] == report["fills"]["backtest"] >= 40
    assert text.rstrip().endswith("identical fills")
    # the replay kept nothing: no scratch instrument, strategy, order or trade, INFY's price untouched
    assert list(Instrument.objects.values_list("tradingsymbol", flat=True)) == ["INFY"]
    assert not Strategy.objects.exists() and not Order.objects.exists() and not Trade.objects.exists()
    assert price_last(Instrument.objects.get()) == D("1500.00")


def test_a_difference_is_named_with_its_reason(settings):
    # A volume limit on the paper exchange that the backtest, replaying at the same settings, also
    # applies: quantities still agree; a charge rate table changed between the bars' days and today
    # is what parity then names.
    from trading.models import ChargeRate

    infy = instrument_make("INFY", 408065, "1500.00")
    sessions_of_minute_bars(infy, date(2026, 10, 5), 3)
    rate = ChargeRate.objects.create(
        segment="equity_delivery", effective_from=date(2026, 11, 1), brokerage_rate=D("0.001"), stt_buy_rate=D("0.001"),
        stt_sell_rate=D("0.001"), exchange_rate=D("0.0000297"), sebi_rate=D("0.000001"), stamp_buy_rate=D("0.00015"),
        gst_rate=D("0.18"),
    )  # fmt: skip
    out = io.StringIO()
    args = ["sma_crossover", "NSE:INFY", "--from", "2026-10-05", "--to", "2026-10-07", "--interval", "5m"]
    try:
        call_command("strategy_parity", *args, "--params", '{"fast": 3, "slow": 12}', stdout=out)
    finally:
        rate.delete()  # and every process's cached rates with it: later tests are charged as before
    report = json.loads(out.getvalue()[: out.getvalue().rindex("}") + 1])
    assert not report["identical"]
    assert all(
        d["why"].startswith("charges: the paper fill is charged at the rates in force today")
        for d in report["differences"]
    )
