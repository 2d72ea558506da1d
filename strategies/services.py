"""Backtest runs: create one from what a person or client asked for (everything checked first), and
execute it, storing the figures, trades and daily equity on the run, or the reason it failed."""

import logging
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from celery import current_app
from django.db import transaction
from django.utils import timezone

from strategies.backtest import backtest
from strategies.base import parameters_validate
from strategies.data import market_from_db, signals_attach
from strategies.engine import Costs
from strategies.library import BUILT_IN
from strategies.models import BacktestRun
from trading.models import Instrument, Order
from trading.realtime import streams
from tradingsite.exceptions import ApplicationError, NotFoundError, ValidationError
from tradingsite.ist import IST

INTERVALS = ("1m", "5m", "15m", "1h", "1d")
# The worker's task, by its registered name (strategies.tasks.backtest_run).
BACKTEST_TASK = "strategies.tasks.backtest_run"
log = logging.getLogger(__name__)


def backtest_runs_queue(run_ids: list[int]) -> None:
    """Once the transaction commits, hand the runs to the Celery workers (one task each, so a sweep's
    runs spread over every worker there is). A run whose hand-off fails stays queued and says so."""

    def send():
        for run_id in run_ids:
            try:
                current_app.send_task(BACKTEST_TASK, args=[run_id])
            except Exception as exc:  # noqa: BLE001 - the broker is down: the run says why it waits
                log.warning("backtest %s not handed to the workers: %s", run_id, exc)
                BacktestRun.objects.filter(pk=run_id, status=BacktestRun.Status.QUEUED).update(
                    error=f"not yet handed to the workers: {exc}"
                )

    transaction.on_commit(send)


def instruments_named(names: list[str]) -> list[Instrument]:
    if not names:
        raise ValidationError("name at least one instrument, as EXCHANGE:SYMBOL")
    found, missing, seen = [], [], set()
    for name in names:
        exchange, _, symbol = str(name).upper().rpartition(":")
        instrument = Instrument.objects.filter(exchange=exchange or "NSE", tradingsymbol=symbol).first()
        if instrument is None:
            missing.append(name)
        elif instrument.pk not in seen:  # named twice ("INFY" and "NSE:INFY"): one instrument
            seen.add(instrument.pk)
            found.append(instrument)
    if missing:
        raise NotFoundError(f"not in the instrument master: {', '.join(missing)}")
    return found


def decimal_of(value, name: str, *, minimum: Decimal, maximum: Decimal, places: int = 2) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(f"{name} must be a number, not {value!r}") from None
    if not number.is_finite() or not minimum <= number <= maximum:
        raise ValidationError(f"{name} must be between {minimum} and {maximum}, not {value}")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError(f"{name} takes at most {places} decimal places, not {value}")
    return number


def backtest_run_create(
    *,
    strategy: str,
    instruments: list[str],
    start: date,
    end: date,
    interval: str = "1d",
    parameters: dict | None = None,
    capital=Decimal("1000000"),
    slippage_bps=Decimal("0"),
    participation=Decimal("0"),
    charges: bool = True,
    product: str = Order.Product.CNC,
    created_by=None,
) -> BacktestRun:
    if strategy not in BUILT_IN:
        raise ValidationError(f"no strategy {strategy!r}; the built-in ones are {', '.join(BUILT_IN)}")
    if interval not in INTERVALS:
        raise ValidationError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    if end < start:
        raise ValidationError(f"the end ({end}) is before the start ({start})")
    if product not in (Order.Product.CNC, Order.Product.MIS):
        raise ValidationError(f"product must be CNC or MIS, not {product!r}")
    if product == Order.Product.MIS and interval == "1d":
        raise ValidationError("MIS positions are squared off at 15:20 each session: use intraday bars (1m to 1h)")
    found = instruments_named(instruments)
    return BacktestRun.objects.create(
        strategy_name=strategy,
        parameters=parameters_validate(BUILT_IN[strategy], parameters),
        instruments=[f"{i.exchange}:{i.tradingsymbol}" for i in found],
        interval=interval,
        start=start,
        end=end,
        capital=decimal_of(capital, "capital", minimum=Decimal("1"), maximum=Decimal("1e13")),
        slippage_bps=decimal_of(slippage_bps, "slippage_bps", minimum=Decimal(0), maximum=Decimal(1000)),
        participation=decimal_of(participation, "participation", minimum=Decimal(0), maximum=Decimal(1), places=4),
        charges=bool(charges),
        product=product,
        created_by=created_by,
    )


def backtest_run_execute(run: BacktestRun, *, progress=None) -> BacktestRun:
    """Run it and store the outcome; a failure is stored with its reason (and raised no further). A run
    already taken by another worker (a redelivered task) is left to it."""
    queued = BacktestRun.objects.filter(pk=run.pk, status=BacktestRun.Status.QUEUED)
    if not queued.update(status=BacktestRun.Status.RUNNING, progress=0.0):
        run.refresh_from_db()
        return run
    run.refresh_from_db()

    def report(fraction: float, phase: str) -> None:
        BacktestRun.objects.filter(pk=run.pk).update(progress=fraction)
        run_event(run, status=BacktestRun.Status.RUNNING, progress=fraction, phase=phase)
        if progress:
            progress(fraction, phase)

    try:
        market = market_from_db(
            instruments_named(run.instruments),
            run.interval,
            datetime.combine(run.start, time(0, 0), tzinfo=IST),
            datetime.combine(run.end + timedelta(days=1), time(0, 0), tzinfo=IST),
        )
        market = signals_attach(market, run.interval, BUILT_IN[run.strategy_name].signals)
        report(0.1, "bars loaded")
        costs = Costs(run.slippage_bps, run.participation, run.charges, run.product)
        result = backtest(
            BUILT_IN[run.strategy_name], market, run.parameters, capital=run.capital, costs=costs, progress=report
        )
    except ApplicationError as exc:
        run.status, run.error = BacktestRun.Status.FAILED, exc.message
    except Exception as exc:  # noqa: BLE001 - stored on the run, which would otherwise stay "running"
        log.exception("backtest %s failed", run.pk)
        run.status, run.error = BacktestRun.Status.FAILED, f"internal error: {type(exc).__name__}: {exc}"
    else:
        run.status, run.error, run.progress = BacktestRun.Status.DONE, "", 1.0
        run.result_hash, run.code_version = result.result_hash, result.code_version
        run.figures, run.trades, run.equity = result.figures, result.trades, result.equity
    run.finished_at = timezone.now()
    with transaction.atomic():
        run.save()
        run_event(run, status=run.status, progress=run.progress, phase=run.error or "done")
    return run


def run_event(run: BacktestRun, *, status: str, progress: float, phase: str) -> None:
    """Push a run's progress to the pages of the person who started it (their websocket stream), so the
    backtests page moves its progress bar as the worker goes, without asking."""
    if run.created_by_id is not None:
        streams.account_event(
            run.created_by_id, "backtest", {"id": run.pk, "status": status, "progress": progress, "phase": phase}
        )
