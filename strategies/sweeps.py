"""Walk-forward parameter sweeps, fanned out over the Celery workers as ordinary backtest runs.

The dates are cut into `folds` + 1 equal windows. Fold k (1..folds) runs every combination of the grid
over windows 0..k-1 (anchored: the training history grows), and once all of them have finished, the
one with the best `metric` runs over window k, which none of them saw. The fold's result is that test
run's figures and the parameters that won. Whichever worker finishes a fold's last training run
queues its test run, under the sweep's row lock, so it is queued once however many finish together.
"""

import itertools
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from strategies.base import parameters_validate
from strategies.library import BUILT_IN
from strategies.models import BacktestRun, Sweep
from strategies.services import backtest_run_create, backtest_runs_queue
from tradingsite.exceptions import ValidationError

METRICS = ("sharpe", "sortino", "cagr", "total_return")
MAX_RUNS = 2_000


def combinations(strategy_name: str, grid: dict) -> list[dict]:
    if not isinstance(grid, dict) or not grid:
        raise ValidationError("grid must name at least one parameter with the values to try")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValidationError(f"grid: {name} must be a non-empty list of values")
    names = sorted(grid)
    combos = [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]
    strategy = BUILT_IN[strategy_name]
    return [parameters_validate(strategy, combo) for combo in combos]


def windows(start, end, count: int) -> list[tuple]:
    days = (end - start).days + 1
    if days < count:
        raise ValidationError(f"{days} days cannot be cut into {count} windows")
    edges = [start + timedelta(days=round(days * k / count)) for k in range(count + 1)]
    return [(edges[k], edges[k + 1] - timedelta(days=1)) for k in range(count)]


def sweep_create(
    *, strategy: str, grid: dict, start, end, folds: int = 3, metric: str = "sharpe", created_by=None, **shared
) -> Sweep:
    """`shared`: what backtest_run_create takes besides the strategy, parameters and dates."""
    if strategy not in BUILT_IN:
        raise ValidationError(f"no strategy {strategy!r}; the built-in ones are {', '.join(BUILT_IN)}")
    if metric not in METRICS:
        raise ValidationError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    if not 1 <= folds <= 20:
        raise ValidationError(f"folds must be between 1 and 20, not {folds}")
    combos = combinations(strategy, grid)
    if len(combos) * folds > MAX_RUNS:
        raise ValidationError(f"{len(combos)} combinations x {folds} folds is over {MAX_RUNS} runs")
    cuts = windows(start, end, folds + 1)
    with transaction.atomic():
        stored = {key: str(value) if isinstance(value, Decimal) else value for key, value in shared.items()}
        sweep = Sweep.objects.create(
            strategy_name=strategy, grid=grid, metric=metric, folds=folds, shared=stored,
            start=start, end=end, created_by=created_by,
        )  # fmt: skip
        runs = []
        for fold in range(1, folds + 1):
            for combo in combos:
                run = backtest_run_create(
                    strategy=strategy, parameters=combo, start=cuts[0][0], end=cuts[fold - 1][1],
                    created_by=created_by, **shared,
                )  # fmt: skip
                run.sweep, run.fold, run.stage = sweep, fold, "train"
                run.save(update_fields=["sweep", "fold", "stage"])
                runs.append(run.pk)
        backtest_runs_queue(runs)
    return sweep


def score(run: BacktestRun, metric: str) -> float:
    value = run.figures.get(metric) if run.status == BacktestRun.Status.DONE else None
    return float(value) if value is not None else float("-inf")


def sweep_advance(sweep_id: int) -> None:
    """After one of the sweep's runs finished: queue each fold's test run once its training is done,
    and gather the results once every fold is tested."""
    finished = (BacktestRun.Status.DONE, BacktestRun.Status.FAILED)
    with transaction.atomic():
        sweep = Sweep.objects.select_for_update().get(pk=sweep_id)
        if sweep.status != Sweep.Status.RUNNING:
            return
        runs = list(sweep.runs.order_by("pk"))
        cuts = windows(sweep.start, sweep.end, sweep.folds + 1)
        queued, results = [], []
        for fold in range(1, sweep.folds + 1):
            train = [r for r in runs if r.fold == fold and r.stage == "train"]
            test = next((r for r in runs if r.fold == fold and r.stage == "test"), None)
            if test is None and all(r.status in finished for r in train):
                best = max(train, key=lambda r: score(r, sweep.metric))
                if score(best, sweep.metric) == float("-inf"):
                    results.append({"fold": fold, "error": "no training run gave a " + sweep.metric})
                    continue
                test = backtest_run_create(
                    strategy=sweep.strategy_name, parameters=best.parameters, start=cuts[fold][0], end=cuts[fold][1],
                    created_by=sweep.created_by, **sweep.shared,
                )  # fmt: skip
                test.sweep, test.fold, test.stage = sweep, fold, "test"
                test.save(update_fields=["sweep", "fold", "stage"])
                queued.append(test.pk)
            if test is not None and test.status in finished:
                results.append(
                    {
                        "fold": fold,
                        "train": [str(cuts[0][0]), str(cuts[fold - 1][1])],
                        "test": [str(cuts[fold][0]), str(cuts[fold][1])],
                        "parameters": test.parameters,
                        "run": test.pk,
                        "figures": test.figures if test.status == BacktestRun.Status.DONE else {"error": test.error},
                    }
                )
        backtest_runs_queue(queued)
        if len(results) == sweep.folds:
            sweep.results, sweep.status, sweep.finished_at = results, Sweep.Status.DONE, timezone.now()
            sweep.save(update_fields=["results", "status", "finished_at"])
