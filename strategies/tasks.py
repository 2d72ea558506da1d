"""Backtests run on the Celery workers: one task per run (a parameter sweep fans out as many)."""

from celery import shared_task

from strategies.models import BacktestRun
from strategies.services import backtest_run_execute
from strategies.sweeps import sweep_advance


@shared_task(ignore_result=True, acks_late=True)
def backtest_run(run_id: int) -> None:
    run = BacktestRun.objects.filter(pk=run_id, status=BacktestRun.Status.QUEUED).first()
    if run is None:  # a run already started or finished (a redelivered task) is left as it is
        return
    run = backtest_run_execute(run)
    if run.sweep_id is not None:
        sweep_advance(run.sweep_id)  # its fold's test run once the training is done; the results at the end
