"""The live strategy runner: each enabled rule strategy (and, through `STEPPERS`, each promoted RL
policy, rl/live.py) decides on every closed bar of its interval,
from the stored bars up to that bar (what the feed built), and its decision becomes orders through the
same `order_place`, risk checks and kill switch as a person's, attributed to the strategy.

The decision is the one the backtester fills: the strategy's target for the last closed bar, less what
the strategy holds (its sub-ledger) and has on its way (its live orders' unfilled quantity), as
a MARKET order that meets the next price, as the backtest's fills the next bar's open. A strategy that
raises, or cannot run as configured, is disabled with the reason stored on it and in the audit trail,
not retried; an order the risk checks reject is stored as rejected, and the next bar decides again.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from strategies.base import parameters_validate, targets_checked
from strategies.data import market_from_db, signals_attach
from strategies.engine import intraday_closing, whole_lots
from strategies.library import BUILT_IN
from trading.market.bars import DAY_ORIGIN, SESSION_ORIGIN
from trading.models import Order, Strategy, StrategyPosition
from trading.orders import services
from tradingsite.exceptions import ApplicationError

log = logging.getLogger(__name__)
WIDTH = {"1m": timedelta(minutes=1), "5m": timedelta(minutes=5), "15m": timedelta(minutes=15)}
WIDTH |= {"1h": timedelta(hours=1), "1d": timedelta(days=1)}
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

# What the strategy holds is its sub-ledger (so a square-off or any other fill booked to it counts);
# what it has on its way is its live orders' unfilled quantity.
HOLDINGS_SQL = f"""
SELECT instrument_id, sum(held)::bigint, sum(coming)::bigint FROM (
    SELECT instrument_id, quantity AS held, 0 AS coming
      FROM {StrategyPosition._meta.db_table}
     WHERE strategy_id = %(strategy)s
    UNION ALL
    SELECT instrument_id, 0, (CASE WHEN transaction_type = 'BUY' THEN 1 ELSE -1 END) * (quantity - filled_quantity)
      FROM {Order._meta.db_table}
     WHERE strategy_id = %(strategy)s AND status = ANY(%(live)s)
) AS book
 GROUP BY instrument_id
"""


@dataclass
class Step:
    strategy: str
    decided_on: datetime | None = None
    orders: list[Order] = field(default_factory=list)
    disabled: str = ""
    failed: str = ""  # an unexpected error this pass; tried again on the next


def bucket_start(interval: str, now: datetime) -> datetime:
    """The start of the `interval` bucket `now` falls in, on the buckets the bar tables use."""
    origin = datetime.fromisoformat(DAY_ORIGIN if interval == "1d" else SESSION_ORIGIN)
    width = WIDTH[interval]
    return origin + (now - origin) // width * width


def strategy_holdings(strategy: Strategy) -> dict[int, tuple[int, int]]:
    """Per instrument: (shares the strategy's sub-ledgers hold, shares its live orders still want)."""
    with connection.cursor() as cursor:
        cursor.execute(HOLDINGS_SQL, {"strategy": strategy.pk, "live": list(Order.LIVE)})
        return {row[0]: (int(row[1]), int(row[2])) for row in cursor.fetchall()}


def strategy_disable(strategy: Strategy, reason: str) -> None:
    with transaction.atomic():
        Strategy.objects.filter(pk=strategy.pk).update(enabled=False, disabled_reason=reason, updated_at=timezone.now())
        audit_record(
            action="strategy.disabled",
            actor="strategy-runner",
            object_type="strategy",
            object_id=strategy.pk,
            payload={"name": strategy.name, "reason": reason},
        )
    strategy.enabled, strategy.disabled_reason = False, reason
    log.warning("strategy %s disabled: %s", strategy.name, reason)


def step_refused(strategy: Strategy, step: Step, exc: ApplicationError) -> Step:
    """A strategy that cannot decide: it waits where no bar has closed yet, else it is disabled, saying why."""
    if "no bars for" not in exc.message:  # else nothing closed yet: wait for the feed
        strategy_disable(strategy, exc.message)
        step.disabled = exc.message
    return step


def strategy_step(strategy: Strategy, now: datetime | None = None) -> Step:
    """Decide on the last closed bar, if the strategy has not decided on it yet; place what it wants."""
    from strategies.services import instruments_named

    now = now or timezone.now()
    step = Step(strategy.name)
    logic = BUILT_IN.get(strategy.logic)
    try:
        if logic is None:
            raise ApplicationError(f"no built-in strategy {strategy.logic!r} (one of {', '.join(BUILT_IN)})")
        if strategy.interval not in WIDTH:
            raise ApplicationError(f"interval must be one of {', '.join(WIDTH)}, not {strategy.interval!r}")
        if strategy.product == Order.Product.MIS and strategy.interval == "1d":
            raise ApplicationError("an MIS strategy needs an intraday interval (1m to 1h): MIS is squared off daily")
        p = parameters_validate(logic, strategy.parameters)
        instruments = instruments_named(strategy.instruments)
        # Bars that have closed: every bucket before the one `now` is in (a 5-minute bar is closed only
        # once all five of its minutes are).
        lookback = logic.warmup(p) * 3 + 50
        closed_before = bucket_start(strategy.interval, now)
        market = market_from_db(instruments, strategy.interval, EARLIEST, closed_before, limit=lookback)
        market = signals_attach(market, strategy.interval, logic.signals)
        decided_on = market.ts[-1].astype("datetime64[us]").item().replace(tzinfo=UTC)
        if strategy.last_decided_at is not None and decided_on <= strategy.last_decided_at:
            return step
        wanted = whole_lots(targets_checked(logic, market.bars(), p)[:, -1], market.lot)
        # An MIS strategy is flat from the square-off to the session's end, as the backtester fills it.
        if (
            strategy.product == Order.Product.MIS
            and intraday_closing(market.ts[-1:], np.timedelta64(WIDTH[strategy.interval]))[0]
        ):
            wanted = wanted * 0
        if not bar_claim(strategy, decided_on):
            return step
    except ApplicationError as exc:
        return step_refused(strategy, step, exc)
    step.orders = orders_toward(strategy, instruments, wanted.tolist())
    strategy.last_decided_at = step.decided_on = decided_on
    return step


def bar_claim(strategy: Strategy, decided_on: datetime, **still) -> bool:
    """Claim the bar: of two runners deciding at once, only the one that moves last_decided_at places;
    and only while the strategy is still enabled (and matches `still`): a stop since the bars were read
    wins over the decision made from them."""
    unclaimed = Q(last_decided_at__isnull=True) | Q(last_decided_at__lt=decided_on)
    claimed = Strategy.objects.filter(unclaimed, pk=strategy.pk, enabled=True, **still)
    return bool(claimed.update(last_decided_at=decided_on))


def orders_toward(strategy: Strategy, instruments, wanted: list[int], holdings=None) -> list[Order]:
    """MARKET orders for each instrument's `wanted` position less what the strategy holds and has on its
    way, through the order path (its risk checks, the kill switch), attributed to the strategy."""
    holdings = strategy_holdings(strategy) if holdings is None else holdings
    placed = []
    for instrument, want in zip(instruments, wanted, strict=True):
        held, coming = holdings.get(instrument.pk, (0, 0))
        change = want - held - coming
        if change:
            placed.append(
                services.order_place(
                    account=strategy.account,
                    instrument=instrument,
                    transaction_type=Order.TransactionType.BUY if change > 0 else Order.TransactionType.SELL,
                    order_type=Order.OrderType.MARKET,
                    product=strategy.product,
                    quantity=abs(change),
                    tag=strategy.name[:20],
                    strategy=strategy,
                )
            )
    return placed


# What steps each kind of strategy the runner runs: the rule strategies here; other apps add theirs
# (rl's promoted policies) from their AppConfig.ready, so this module needs none of them.
STEPPERS = {}


def stepper_register(kind: str, step) -> None:
    STEPPERS[kind] = step


def strategies_step(now: datetime | None = None) -> list[Step]:
    """Step every enabled strategy; one that fails unexpectedly (the database went away mid-step) is
    logged and tried again on the next pass, and the others still run."""
    running = Strategy.objects.filter(enabled=True, kind__in=list(STEPPERS)).select_related("account")
    steps = []
    for strategy in running.order_by("pk"):
        try:
            steps.append(STEPPERS[strategy.kind](strategy, now))
        except Exception as exc:  # noqa: BLE001 - one strategy's failure must not stop the others
            log.exception("strategy %s failed this pass; it is tried again on the next", strategy.name)
            steps.append(Step(strategy.name, failed=f"{type(exc).__name__}: {exc}"))
    return steps


stepper_register(Strategy.Kind.RULE, strategy_step)
