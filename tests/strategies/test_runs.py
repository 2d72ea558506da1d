"""Bars imported from CSV and backtests run from the command line, stored with their results."""

import io
import random
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from strategies.models import BacktestRun
from trading.models import DayBar, Instrument

D = Decimal
pytestmark = pytest.mark.django_db
HEADER = "Date,Adj Close,Close,High,Low,Open,Volume\n"


def walk_csv(path: Path, days: int, seed: int) -> Path:
    """Daily bars in the layout of a Yahoo-style download (floats with binary noise), weekdays from 2024-01-01."""
    rng = random.Random(seed)
    price, lines, day = 1000.0, [HEADER], date(2024, 1, 1)
    while len(lines) <= days:
        if day.weekday() < 5:
            open_ = round(price, 1)
            price = round(price * (1 + rng.gauss(0, 0.02)), 1)
            high, low = max(open_, price) + 1.5, min(open_, price) - 1.5
            row = [day.isoformat(), price * 0.9, price, high, low, open_, rng.randint(1000, 9000)]
            lines.append(",".join(str(float(v) + 1e-13) if isinstance(v, float) else str(v) for v in row) + "\n")
        day += timedelta(days=1)
    path.write_text("".join(lines))
    return path


def test_bars_import_reads_the_download_layout_and_rounds_the_float_noise(tmp_path):
    path = tmp_path / "INFY.csv"
    path.write_text(
        HEADER
        + "2024-01-01,633.1510620117188,736.8499755859375,740.0,732.5499877929688,735.0,2112415\n"
        + "2024-01-02,,,,,,\n"
        + "2024-01-03,631.3037109375,734.7000122070312,740.7999877929688,730.9000244140625,738.9000244140625,5658200\n"
    )
    out = io.StringIO()
    call_command("bars_import", str(path), "--create-instruments", stdout=out)
    assert "NSE:INFY: 2 day bars (1 empty rows skipped)" in out.getvalue()
    infy = Instrument.objects.get(exchange="NSE", tradingsymbol="INFY")
    bars = list(DayBar.objects.filter(instrument=infy).order_by("ts"))
    assert [(b.open, b.close, b.volume) for b in bars] == [
        (D("735.00"), D("736.85"), 2112415),
        (D("738.90"), D("734.70"), 5658200),
    ]
    assert bars[0].ts.isoformat() == "2023-12-31T18:30:00+00:00"  # midnight IST of the trading day

    call_command("bars_import", str(path), "--adjusted", stdout=io.StringIO())  # scaled by Adj Close / Close
    assert DayBar.objects.filter(instrument=infy).order_by("ts").first().close == D("633.15")


def test_a_file_that_cannot_be_read_is_named_with_its_line_and_the_others_still_import(tmp_path):
    walk_csv(tmp_path / "GOOD.csv", 10, seed=1)
    (tmp_path / "BAD.csv").write_text(HEADER + "2024-01-01,1,1,1,1,1,10\n2024-01-02,1,one,1,1,1,10\n")
    (tmp_path / "MIXED.csv").write_text("Date,Close,Close,High,Low,Open,Volume\n2024-01-01,1,2,2,1,1,5\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 file"):
        call_command("bars_import", str(tmp_path), "--create-instruments", stdout=io.StringIO(), stderr=err)
    assert "BAD.csv line 3: cannot read" in err.getvalue()
    assert "MIXED.csv: the header names Close more than once" in err.getvalue()
    assert DayBar.objects.filter(instrument__tradingsymbol="GOOD").count() == 10
    assert not DayBar.objects.filter(instrument__tradingsymbol="BAD").exists()  # nothing of a bad file


def test_an_unknown_symbol_is_refused_unless_asked_to_create_it(tmp_path):
    with pytest.raises(CommandError, match="1 file"):
        call_command("bars_import", str(walk_csv(tmp_path / "NEWCO.csv", 5, seed=2)), stderr=(err := io.StringIO()))
    assert "NSE:NEWCO is not in the instrument master" in err.getvalue()


def test_the_backtest_command_runs_over_stored_bars_shows_progress_and_stores_a_reproducible_run(tmp_path):
    for symbol, seed in (("AAA", 3), ("BBB", 4)):
        call_command("bars_import", str(walk_csv(tmp_path / f"{symbol}.csv", 120, seed)), "--create-instruments")
    args = ["sma_crossover", "NSE:AAA", "NSE:BBB", "--from", "2024-01-01", "--to", "2024-12-31"]
    out = io.StringIO()
    call_command(
        "backtest", *args, "--params", '{"fast": 3, "slow": 12, "quantity": 5}', "--slippage-bps", "5", stdout=out
    )

    run = BacktestRun.objects.get()
    assert run.status == BacktestRun.Status.DONE and run.progress == 1.0
    assert "[##############################] 100%" in out.getvalue() and run.result_hash in out.getvalue()
    assert run.trades and {t["symbol"] for t in run.trades} == {"AAA", "BBB"}
    assert all(D(t["charges"]) > 0 for t in run.trades)
    assert len(run.equity) == 120 and run.figures["fills"] == len(run.trades)

    call_command(
        "backtest",
        *args,
        "--params",
        '{"fast": 3, "slow": 12, "quantity": 5}',
        "--slippage-bps",
        "5",
        stdout=io.StringIO(),
    )
    assert BacktestRun.objects.count() == 2
    assert len(set(BacktestRun.objects.values_list("result_hash", flat=True))) == 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope", "NSE:AAA"], "no strategy 'nope'; the built-in ones are sma_crossover, rsi_reversion, breakout"),
        (["sma_crossover", "NSE:ZZZ"], "not in the instrument master: NSE:ZZZ"),
        (["sma_crossover", "NSE:AAA", "--params", "{fast: 3}"], "--params is not JSON"),
        (["sma_crossover", "NSE:AAA", "--params", '{"fast": 40}'], "fast (40) must be shorter than slow (30)"),
        (["sma_crossover", "NSE:AAA", "--slippage-bps", "lots"], "slippage_bps must be a number"),
    ],
)
def test_bad_backtest_requests_are_refused_with_the_reason(tmp_path, args, message):
    call_command("bars_import", str(walk_csv(tmp_path / "AAA.csv", 5, seed=5)), "--create-instruments")
    with pytest.raises(CommandError) as caught:
        call_command("backtest", *args, "--from", "2024-01-01", "--to", "2024-02-01", stdout=io.StringIO())
    assert message in str(caught.value)
    assert not BacktestRun.objects.exists()


def test_a_run_with_no_bars_in_its_dates_fails_with_the_reason_stored(tmp_path):
    call_command("bars_import", str(walk_csv(tmp_path / "AAA.csv", 5, seed=6)), "--create-instruments")
    with pytest.raises(CommandError, match="failed: no bars for AAA"):
        call_command(
            "backtest", "breakout", "NSE:AAA", "--from", "2019-01-01", "--to", "2019-02-01", stdout=io.StringIO()
        )
    assert BacktestRun.objects.get().status == BacktestRun.Status.FAILED


def test_the_demo_backfills_a_year_of_daily_history_that_ends_at_the_reference_price_and_backtests_run_on_it():
    from trading.market.history_demo import history_backfill_demo
    from trading.market.instruments import instruments_seed_demo

    instruments_seed_demo()
    assert history_backfill_demo() == 50
    infy = Instrument.objects.get(exchange="NSE", tradingsymbol="INFY")
    bars = list(DayBar.objects.filter(instrument=infy).order_by("ts"))
    assert len(bars) == 252 and bars[-1].close == infy.last_price
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in bars)
    assert history_backfill_demo() == 0  # bars already there are left alone

    first, last = bars[0].ts.date(), bars[-1].ts.date() + timedelta(days=1)
    dates = ["--from", str(first), "--to", str(last)]
    call_command("backtest", "rsi_reversion", "NSE:INFY", "NSE:TCS", *dates, stdout=io.StringIO())
    assert BacktestRun.objects.get().status == BacktestRun.Status.DONE


def test_a_csv_line_with_nan_or_infinite_prices_is_reported_by_line(tmp_path):
    (tmp_path / "NANCO.csv").write_text(HEADER + "2024-01-01,1,1,1,1,1,10\n2024-01-02,1,NaN,1,1,1,10\n")
    (tmp_path / "INFCO.csv").write_text(HEADER + "2024-01-01,1,1,1,1,1,Infinity\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="2 file"):
        call_command("bars_import", str(tmp_path), "--create-instruments", stdout=io.StringIO(), stderr=err)
    assert "NANCO.csv line 3: prices must be numbers" in err.getvalue()
    assert "INFCO.csv line 2: cannot read" in err.getvalue()


def test_imported_minute_bars_roll_up_into_days_with_their_last_minute(tmp_path):
    path = tmp_path / "MINCO.csv"
    path.write_text(
        "Datetime,Open,High,Low,Close,Volume\n"
        + "".join(f"2024-03-04 09:{15 + k}:00,{100 + k},{101 + k},{99 + k},{100.5 + k},100\n" for k in range(5))
    )
    call_command("bars_import", str(path), "--interval", "minute", "--create-instruments", stdout=io.StringIO())
    (day_bar,) = DayBar.objects.filter(instrument__tradingsymbol="MINCO")
    assert (day_bar.open, day_bar.close, day_bar.volume) == (D("100.00"), D("104.50"), 500)


def test_a_slippage_finer_than_the_stored_places_is_refused_not_run_with_another_value(tmp_path):
    call_command("bars_import", str(walk_csv(tmp_path / "AAA.csv", 5, seed=7)), "--create-instruments")
    with pytest.raises(CommandError, match="slippage_bps takes at most 2 decimal places, not 0.001"):
        call_command(
            "backtest", "breakout", "NSE:AAA", "--from", "2024-01-01", "--to", "2024-02-01", "--slippage-bps", "0.001"
        )
    assert not BacktestRun.objects.exists()
