"""On real history: NIFTY 100 daily bars from ../shared/data (present on the project's own machines,
absent from a user's clone, where these tests skip and say so)."""

import io
from datetime import date
from pathlib import Path

import pytest
from django.core.management import call_command

from strategies.data import market_from_db
from strategies.services import backtest_run_create, backtest_run_execute, instruments_named
from tests.strategies.peer import our_round_trips, peer_trades

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "nifty100"
pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"no NIFTY 100 data at {DATA} (only the project's machines have it)"),
]


def test_the_download_imports_as_is_and_the_sma_crossover_trades_infy_as_the_peer_does():
    out = io.StringIO()
    call_command("bars_import", str(DATA / "INFY.csv"), "--create-instruments", stdout=out)
    assert "NSE:INFY: 1238 day bars" in out.getvalue()

    run = backtest_run_execute(
        backtest_run_create(
            strategy="sma_crossover",
            instruments=["NSE:INFY"],
            start=date(2020, 1, 1),
            end=date(2024, 12, 31),
            parameters={"fast": 10, "slow": 30, "quantity": 10},
            charges=False,
        )
    )
    assert run.status == run.Status.DONE, run.error
    market = market_from_db(instruments_named(["NSE:INFY"]), "1d", *run_window())
    trips = our_round_trips(type("R", (), {"trades": run.trades})(), market, "INFY")
    assert len(trips) >= 10
    assert trips == peer_trades(market, 0, 10, 30)


def run_window():
    from datetime import datetime, time

    from tradingsite.ist import IST

    start, end = date(2020, 1, 1), date(2025, 1, 1)
    return datetime.combine(start, time(0), tzinfo=IST), datetime.combine(end, time(0), tzinfo=IST)
