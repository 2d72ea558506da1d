"""The live strategy runner: decisions on closed bars become orders through the same order path as a
person's, attributed to the strategy, stopped by the kill switch; a strategy that fails is disabled."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command

from audit.models import AuditEvent
from strategies.base import Strategy as Logic
from strategies.library import BUILT_IN
from strategies.runner import strategies_step, strategy_step
from tests.trading.conftest import instrument_make, settle
from trading.market.bars import bars_store
from trading.models import Order, Strategy
from trading.orders.accounts import account_create
from trading.orders.services import account_halt

D = Decimal
pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 09:30 IST


def minute_bars(instrument, closes, start=T0):
    rows = [(start + timedelta(minutes=k), c, c + 1, c - 1, c, 100) for k, c in enumerate(closes)]
    bars_store(instrument.pk, "minute", rows)
    return start + timedelta(minutes=len(closes))  # when the last of them has closed


@pytest.fixture
def setup(alice):
    infy = instrument_make("INFY", 408065, "1500.00")
    account = account_create(owner=alice, name="alice-algo", cash=D("10000000"), created_by=alice)
    strategy = Strategy.objects.create(
        account=account,
        name="sma-infy",
        kind=Strategy.Kind.RULE,
        logic="sma_crossover",
        parameters={"fast": 2, "slow": 4, "quantity": 5},
        instruments=["NSE:INFY"],
        interval="1m",
    )
    return infy, account, strategy


def test_a_strategy_orders_on_each_closed_bar_through_the_order_path_and_trades_what_it_decided(setup):
    infy, account, strategy = setup
    closed = minute_bars(infy, [1500, 1501, 1502, 1503, 1504, 1506])  # rising: fast above slow

    step = strategy_step(strategy, now=closed + timedelta(seconds=1))
    (order,) = step.orders
    assert (order.transaction_type, order.quantity, order.order_type) == ("BUY", 5, "MARKET")
    assert order.strategy_id == strategy.pk
    assert step.decided_on == closed - timedelta(minutes=1)  # the last closed bar, not one in progress
    assert strategy_step(strategy, now=closed + timedelta(seconds=30)).orders == []  # one decision per bar
    settle()
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETE

    later = minute_bars(infy, [1490, 1480, 1470], start=closed)  # falling through: fast below slow
    (sell,) = strategy_step(strategy, now=later).orders
    assert (sell.transaction_type, sell.quantity) == ("SELL", 5)


def test_an_order_still_on_its_way_is_not_placed_again_on_the_next_bar(setup):
    infy, account, strategy = setup
    closed = minute_bars(infy, [1500, 1501, 1502, 1503, 1504, 1506])
    assert len(strategy_step(strategy, now=closed).orders) == 1  # not yet sent to the exchange
    more = minute_bars(infy, [1508], start=closed)
    assert strategy_step(strategy, now=more).orders == []


def test_the_kill_switch_stops_a_strategy_as_it_stops_a_person(setup, alice):
    infy, account, strategy = setup
    account_halt(account=account, reason="desk stop", halted_by=alice)
    closed = minute_bars(infy, [1500, 1501, 1502, 1503, 1504, 1506])
    (order,) = strategy_step(strategy, now=closed).orders
    assert order.status == Order.Status.REJECTED and "halted" in order.status_message
    strategy.refresh_from_db()
    assert strategy.enabled  # a rejection is not the strategy's fault: the next bar decides again


class Explodes(Logic):
    def __init__(self):
        super().__init__(name="explodes", params={})

    def targets(self, bars, p):
        return 1 / 0


def test_a_strategy_that_raises_is_disabled_with_the_reason_and_not_run_again(setup, monkeypatch):
    infy, account, strategy = setup
    monkeypatch.setitem(BUILT_IN, "explodes", Explodes())
    Strategy.objects.filter(pk=strategy.pk).update(logic="explodes", parameters={})
    closed = minute_bars(infy, [1500, 1501, 1502, 1503, 1504, 1506])

    (step,) = strategies_step(now=closed)
    assert step.disabled == "strategy explodes raised ZeroDivisionError: division by zero"
    strategy.refresh_from_db()
    assert (strategy.enabled, strategy.disabled_reason) == (False, step.disabled)
    assert AuditEvent.objects.filter(action="strategy.disabled", object_id=str(strategy.pk)).exists()
    assert strategies_step(now=closed + timedelta(minutes=5)) == []  # not retried
    assert not Order.objects.filter(strategy=strategy).exists()


def test_a_strategy_configured_wrongly_is_disabled_naming_the_problem(setup):
    infy, account, strategy = setup
    Strategy.objects.filter(pk=strategy.pk).update(parameters={"fast": 9, "slow": 4})
    minute_bars(infy, [1500, 1501])
    out, err = io.StringIO(), io.StringIO()
    call_command("run_strategies", "--once", stdout=out, stderr=err)
    reason = "invalid parameters for sma_crossover: fast (9) must be shorter than slow (4)"
    assert f"sma-infy: disabled: {reason}" in err.getvalue()


def test_two_runners_deciding_the_same_bar_place_its_orders_once(setup):
    infy, account, strategy = setup
    closed = minute_bars(infy, [1500, 1501, 1502, 1503, 1504, 1506])
    stale = Strategy.objects.get(pk=strategy.pk)  # a second runner's copy, read before the first decided
    assert len(strategy_step(strategy, now=closed).orders) == 1
    assert strategy_step(stale, now=closed).orders == []
    assert Order.objects.filter(strategy=strategy).count() == 1


def test_the_runner_orders_whole_lots_as_the_backtester_fills_them(alice):
    future = instrument_make("NIFTYFUT", 408099, "1500.00", lot=50)
    account = account_create(owner=alice, name="alice-futures", cash=D("100000000"), created_by=alice)
    strategy = Strategy.objects.create(
        account=account, name="sma-fut", kind=Strategy.Kind.RULE, logic="sma_crossover",
        parameters={"fast": 2, "slow": 4, "quantity": 75}, instruments=["NSE:NIFTYFUT"], interval="1m", product="NRML",
    )  # fmt: skip
    closed = minute_bars(future, [1500, 1501, 1502, 1503, 1504, 1506])
    (order,) = strategy_step(strategy, now=closed).orders
    assert order.quantity == 50  # 75 wanted: one whole lot, rounded toward zero


def test_an_intraday_strategy_goes_flat_at_the_square_off_as_its_backtest_does(setup):
    infy, account, strategy = setup
    Strategy.objects.filter(pk=strategy.pk).update(product="MIS")
    strategy.refresh_from_db()
    afternoon = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # 15:00 IST
    closed = minute_bars(infy, [1500, 1501, 1502, 1503, 1504, 1506], start=afternoon)
    (buy,) = strategy_step(strategy, now=closed).orders
    settle()
    assert (buy.transaction_type, buy.product) == ("BUY", "MIS")

    # still rising, but on the bar that closes at 15:19 it sells what it holds, ahead of the 15:20 square-off
    at_1519 = minute_bars(infy, list(range(1507, 1520)), start=closed)
    assert at_1519 == datetime(2026, 3, 2, 9, 49, tzinfo=UTC)
    assert strategy_step(strategy, now=at_1519 - timedelta(minutes=1)).orders == []  # 15:17's bar: still long
    (sell,) = strategy_step(strategy, now=at_1519).orders
    assert (sell.transaction_type, sell.quantity, sell.strategy_id) == ("SELL", 5, strategy.pk)


def test_an_intraday_strategy_on_daily_bars_is_disabled_with_the_reason(setup):
    infy, account, strategy = setup
    Strategy.objects.filter(pk=strategy.pk).update(product="MIS", interval="1d")
    strategy.refresh_from_db()
    step = strategy_step(strategy, now=T0)
    assert "intraday interval" in step.disabled and not Strategy.objects.get(pk=strategy.pk).enabled
