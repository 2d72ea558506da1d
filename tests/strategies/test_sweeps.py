"""Walk-forward sweeps: every combination trained on each fold's history, the best tested on the
window after it, the runs spread over the workers as separate tasks, the results gathered per fold."""

import io
from datetime import date

import pytest
from django.core.management import call_command

from strategies.models import BacktestRun, Sweep
from strategies.sweeps import sweep_create
from strategies.tasks import backtest_run
from tests.conftest import api_for
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


def test_a_client_starts_a_sweep_through_the_api_and_reads_each_folds_winner(alice, bob, tmp_path):
    path = walk_csv(tmp_path / "AAA.csv", 300, 23)
    call_command("bars_import", str(path), "--create-instruments", stdout=io.StringIO())
    api = api_for(alice)
    body = {
        "strategy": "sma_crossover",
        "instruments": ["NSE:AAA"],
        "start": "2024-01-01",
        "end": "2025-02-28",
        "grid": {"fast": [3, 5], "slow": [20]},
        "folds": 2,
        "metric": "total_return",
        "slippage_bps": "5",
    }

    answer = api.post("/api/v1/sweeps", body, format="json")

    assert answer.status_code == 202, answer.json()
    sweep_id = answer.json()["id"]
    assert answer.json()["runs"]["queued"] == 4 and answer.json()["status"] == "running"
    assert work_off_the_queue() == 6
    detail = api.get(f"/api/v1/sweeps/{sweep_id}").json()
    assert detail["status"] == "done" and detail["runs"]["done"] == 6
    assert [fold["fold"] for fold in detail["results"]] == [1, 2]
    assert all(fold["parameters"]["fast"] in (3, 5) for fold in detail["results"])
    assert BacktestRun.objects.filter(sweep_id=sweep_id, slippage_bps=5).count() == 6  # costs shared by every run
    assert [s["id"] for s in api.get("/api/v1/sweeps").json()] == [sweep_id]
    # another trader sees none of it
    assert api_for(bob).get(f"/api/v1/sweeps/{sweep_id}").status_code == 404
    assert api_for(bob).get("/api/v1/sweeps").json() == []


def test_a_sweep_request_with_a_bad_grid_or_metric_is_refused_naming_it(alice):
    api = api_for(alice)
    body = {"strategy": "sma_crossover", "instruments": ["NSE:AAA"], "start": "2024-01-01", "end": "2024-12-31"}

    bad_metric = api.post("/api/v1/sweeps", {**body, "grid": {"fast": [5]}, "metric": "luck"}, format="json")
    bad_value = api.post("/api/v1/sweeps", {**body, "grid": {"fast": [0]}}, format="json")

    assert bad_metric.status_code == 400 and "metric" in str(bad_metric.json())
    assert bad_value.status_code == 400 and "fast must be between 1 and 1000" in str(bad_value.json())
    assert not Sweep.objects.exists()
