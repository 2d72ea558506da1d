"""Walk-forward sweeps: every combination trained on each fold's history, the best tested on the
window after it, the runs spread over the workers as separate tasks, the results gathered per fold."""

import io
from datetime import date

import pytest
from django.core.management import call_command

from strategies.models import BacktestRun, Sweep
from strategies.sweeps import sweep_create
from strategies.tasks import backtest_run
from tests.strategies.test_runs import walk_csv
from tradingsite.exceptions import ValidationError

pytestmark = pytest.mark.django_db


def work_off_the_queue() -> int:
    """Run queued backtests the way the workers do, in any order, until none is left."""
    done = 0
    while (run := BacktestRun.objects.filter(status=BacktestRun.Status.QUEUED).order_by("-pk").first()) is not None:
        backtest_run(run.pk)
        done += 1
    return done


def test_a_walk_forward_sweep_trains_every_combination_and_tests_the_best_on_unseen_dates(
    tmp_path, alice, django_capture_on_commit_callbacks
):
    for symbol, seed in (("AAA", 21), ("BBB", 22)):
        path = walk_csv(tmp_path / f"{symbol}.csv", 400, seed)
        call_command("bars_import", str(path), "--create-instruments", stdout=io.StringIO())
    with django_capture_on_commit_callbacks() as handed_over:
        sweep = sweep_create(
            strategy="sma_crossover",
            grid={"fast": [3, 5], "slow": [20, 40]},
            start=date(2024, 1, 1),
            end=date(2025, 7, 31),
            folds=2,
            instruments=["NSE:AAA", "NSE:BBB"],
            created_by=alice,
        )
    assert len(handed_over) == 1 and sweep.runs.count() == 8  # 4 combinations x 2 folds, one task each

    assert work_off_the_queue() == 10  # and a test run per fold, queued as each fold's training ended
    sweep.refresh_from_db()
    assert sweep.status == Sweep.Status.DONE
    assert [fold["fold"] for fold in sweep.results] == [1, 2]
    for fold in sweep.results:
        train = BacktestRun.objects.filter(sweep=sweep, fold=fold["fold"], stage="train")
        best = max(train, key=lambda r: float(r.figures["sharpe"] or "-inf"))
        assert fold["parameters"] == best.parameters
        test = BacktestRun.objects.get(pk=fold["run"])
        assert test.start > max(r.end for r in train)  # tested only on dates it was not chosen on
        assert fold["figures"]["final_equity"] == test.figures["final_equity"]


def test_a_bad_grid_is_refused_before_any_run_is_made():
    with pytest.raises(ValidationError, match="fast must be between 1 and 1000"):
        sweep_create(
            strategy="sma_crossover",
            grid={"fast": [0, 5]},
            start=date(2024, 1, 1),
            end=date(2024, 12, 31),
            instruments=["NSE:AAA"],
        )
    with pytest.raises(ValidationError, match="slow must be a non-empty list"):
        sweep_create(
            strategy="sma_crossover",
            grid={"slow": 30},
            start=date(2024, 1, 1),
            end=date(2024, 12, 31),
            instruments=["NSE:AAA"],
        )
    assert not Sweep.objects.exists() and not BacktestRun.objects.exists()
