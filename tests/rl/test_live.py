"""A promoted policy trading live: the strategy runner steps it on each closed daily bar, its orders go
through the same order path, risk checks and kill switch as a person's, and each decision is stored with
the observation it came from."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest

from rl.data import market_for
from rl.features import features_build
from rl.models import AgentDecision, AgentModel
from rl.promotion import agent_retire, promotion_request
from strategies.runner import strategies_step
from tests.rl.conftest import FIRST_DAY, agent_make, daily_bars, full_share_policy
from tests.trading.conftest import settle
from trading.models import Order, Strategy, StrategyPosition, Trade
from trading.orders.accounts import account_create
from trading.orders.approvals import account_limits_change, approval_decide
from trading.orders.services import account_halt
from tradingsite.exceptions import ConflictError
from tradingsite.ist import IST

pytestmark = pytest.mark.django_db
PAIR = ["NSE:INFY", "NSE:TCS"]


def morning_after(day):
    """09:20 IST on the weekday after `day`: that day's bar has closed."""
    following = day + timedelta(days=3 if day.weekday() == 4 else 1)
    return datetime.combine(following, time(9, 20), tzinfo=IST)


@pytest.fixture
def live(market, dave, root_admin):
    infy, tcs, account, last = market
    agent = agent_make("full-share", PAIR)
    approval = promotion_request(agent_name=agent.name, account=account, requested_by=dave)
    approval_decide(approval_id=approval.pk, decided_by=root_admin, approve=True)
    strategy = Strategy.objects.get(account=account, kind=Strategy.Kind.RL)
    return infy, tcs, account, last, agent, strategy


def rl_steps(now):
    return [step for step in strategies_step(now=now) if step.strategy == "rl-agent"]


def test_the_promoted_policy_orders_on_the_closed_bar_and_its_decision_is_recorded(live):
    infy, tcs, account, last, agent, strategy = live

    (step,) = rl_steps(morning_after(last))

    # its full share of equity (the notional Rs 10 lakh, half per instrument) at the last close, in shares
    by_symbol = {order.tradingsymbol: order for order in step.orders}
    assert (by_symbol["INFY"].transaction_type, by_symbol["INFY"].quantity) == ("BUY", 500_000 // 1559)
    assert (by_symbol["TCS"].transaction_type, by_symbol["TCS"].quantity) == ("BUY", 500_000 // 3118)
    assert all(order.strategy_id == strategy.pk and order.order_type == "MARKET" for order in step.orders)
    rl_steps(morning_after(last) + timedelta(minutes=5))
    assert AgentDecision.objects.count() == 1  # one decision per bar

    decision = AgentDecision.objects.get(strategy=strategy)
    assert decision.bar_at == datetime.combine(last, time(0), tzinfo=IST)
    assert decision.action == [1.0, 1.0]
    assert decision.targets == [500_000 // 1559, 500_000 // 3118]
    assert decision.holdings == [[0, 0], [0, 0]] and decision.equity == Decimal("1000000.00")
    assert decision.closes == ["1559.00", "3118.00"]
    assert {o["id"] for o in decision.orders} == {o.pk for o in step.orders}
    # the stored observation is the one the bars give: the features at that bar, then weights and cash
    bars = market_for(data=None, instruments=PAIR, start=FIRST_DAY, end=last)
    features = features_build(bars, 20)[-1].reshape(-1)
    observed = np.array(decision.observation, dtype=np.float32)
    assert np.allclose(observed[: len(features)], features, atol=1e-5)
    assert list(observed[len(features) :]) == [0.0, 0.0, 1.0]

    # the orders fill; on the next bar it observes what it holds and its cash net of what that cost
    settle()
    assert set(Order.objects.filter(strategy=strategy).values_list("status", flat=True)) == {"COMPLETE"}
    following = daily_bars(infy, [1560], first=last + timedelta(days=3))
    daily_bars(tcs, [3120], first=last + timedelta(days=3))
    rl_steps(morning_after(following))
    second = AgentDecision.objects.filter(strategy=strategy).order_by("-bar_at").first()
    assert second.holdings == [[500_000 // 1559, 0], [500_000 // 3118, 0]]
    trades = Trade.objects.filter(order__strategy=strategy)
    spent = sum(trade.price * trade.quantity + trade.total_charges for trade in trades)
    assert second.cash == Decimal("1000000") - spent
    assert second.equity == second.cash + 500_000 // 1559 * 1560 + 500_000 // 3118 * 3120
    assert second.observation[-3] > 0.45 and second.observation[-2] > 0.45  # its weights in the equity


def test_selling_out_books_the_proceeds_and_the_book_is_cash_again(live, dave, root_admin):
    infy, tcs, account, last, agent, strategy = live
    rl_steps(morning_after(last))
    settle()
    bought = {p.instrument_id: p.quantity for p in StrategyPosition.objects.filter(strategy=strategy)}
    # a second agent, which wants none of either, replaces it on the account
    agent_make("cash-only", PAIR, policy=full_share_policy(2, none=True))
    approval = promotion_request(agent_name="cash-only", account=account, requested_by=dave)
    approval_decide(approval_id=approval.pk, decided_by=root_admin, approve=True)
    day = daily_bars(infy, [1600], first=last + timedelta(days=3))
    daily_bars(tcs, [3200], first=last + timedelta(days=3))

    (step,) = rl_steps(morning_after(day))
    assert {(o.instrument_id, o.transaction_type, o.quantity) for o in step.orders} == {
        (infy.pk, "SELL", bought[infy.pk]),
        (tcs.pk, "SELL", bought[tcs.pk]),
    }
    settle()
    day = daily_bars(infy, [1610], first=day + timedelta(days=1))
    daily_bars(tcs, [3210], first=day)
    rl_steps(morning_after(day))

    last_decision = AgentDecision.objects.order_by("-bar_at").first()
    trades = Trade.objects.filter(order__strategy=strategy)
    signed = sum((-1 if t.transaction_type == "BUY" else 1) * t.price * t.quantity - t.total_charges for t in trades)
    assert last_decision.holdings == [[0, 0], [0, 0]]
    assert last_decision.cash == last_decision.equity == Decimal("1000000") + signed
    assert AgentModel.objects.get(name=agent.name).status == "retired"


def test_the_live_policys_orders_are_rejected_by_a_risk_rule_like_anyones(live, alice):
    infy, tcs, account, last, agent, strategy = live
    account_limits_change(account=account, changes={"max_order_value": Decimal("100000")}, changed_by=alice)

    (step,) = rl_steps(morning_after(last))

    assert len(step.orders) == 2
    for order in step.orders:
        assert order.status == Order.Status.REJECTED
        assert "exceeds the limit of" in order.status_message
    decision = AgentDecision.objects.get(strategy=strategy)
    assert [o["status"] for o in decision.orders] == ["REJECTED", "REJECTED"]
    assert all("exceeds the limit" in o["message"] for o in decision.orders)


def test_the_kill_switch_stops_the_live_policy_as_it_stops_a_person(live, alice):
    infy, tcs, account, last, agent, strategy = live
    account_halt(account=account, reason="desk stop", halted_by=alice)

    (step,) = rl_steps(morning_after(last))

    assert [order.status for order in step.orders] == ["REJECTED", "REJECTED"]
    assert all("halted" in order.status_message for order in step.orders)
    (decision,) = AgentDecision.objects.all()
    assert [o["status"] for o in decision.orders] == ["REJECTED", "REJECTED"]


def test_a_retired_agent_stops_trading_its_orders_are_cancelled_and_its_pending_promotions_expire(
    live, dave, root_admin, alice
):
    infy, tcs, account, last, agent, strategy = live
    placed = rl_steps(morning_after(last))[0].orders  # not yet sent to the exchange
    other = account_create(owner=alice, name="alice-second", cash=Decimal("1000000"), created_by=alice)
    waiting = promotion_request(agent_name=agent.name, account=other, requested_by=dave)

    agent_retire(agent=agent, retired_by=dave, reason="drifted")

    strategy.refresh_from_db()
    assert not strategy.enabled and "retired by dave: drifted" in strategy.disabled_reason
    assert {Order.objects.get(pk=o.pk).status for o in placed} == {"CANCELLED"}
    waiting.refresh_from_db()
    assert waiting.status == "expired"
    with pytest.raises(ConflictError, match="already expired"):
        approval_decide(approval_id=waiting.pk, decided_by=root_admin, approve=True)
    following = daily_bars(infy, [1560], first=last + timedelta(days=3))
    assert rl_steps(morning_after(following)) == []
    assert AgentDecision.objects.count() == 1


def test_a_policy_that_does_not_fit_the_observation_disables_its_strategy_saying_why(live, settings):
    infy, tcs, account, last, agent, strategy = live
    settings.RL_WINDOW = 30  # changed since the policy was trained on 20-bar windows

    (step,) = rl_steps(morning_after(last))

    assert "RL_WINDOW has changed since it was trained" in step.disabled
    strategy.refresh_from_db()
    assert not strategy.enabled and not Order.objects.exists()


def test_a_policy_exported_on_the_older_action_space_is_not_run(market, dave, root_admin):
    infy, tcs, account, last = market
    older = full_share_policy(2)
    older.low = older.low * 0  # it answered 0 to 1
    agent_make("older", PAIR, policy=older)
    approval = promotion_request(agent_name="older", account=account, requested_by=dave)
    approval_decide(approval_id=approval.pk, decided_by=root_admin, approve=True)

    (step,) = rl_steps(morning_after(last))

    assert "trained on an older action space" in step.disabled and not Order.objects.exists()
