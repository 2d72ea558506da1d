"""What the promotion and live-trading tests share: daily bars in the database, an agent in the registry
with a stored walk-forward evaluation, and a policy that always wants its full share of each instrument."""

import hashlib
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
import pytest

from rl.models import AgentModel
from rl.policy import ExportedPolicy
from tests.trading.conftest import instrument_make
from trading.market.bars import bars_store
from trading.orders.accounts import account_create
from tradingsite.ist import IST

FIRST_DAY = date(2026, 1, 5)  # a Monday


def weekdays(first: date, count: int) -> list[date]:
    days, day = [], first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def daily_bars(instrument, closes: list[float], first: date = FIRST_DAY) -> date:
    """Daily bars closing at `closes` on consecutive weekdays from `first`; the last bar's day."""
    days = weekdays(first, len(closes))
    rows = []
    for day, close in zip(days, closes, strict=True):
        c = Decimal(str(close)).quantize(Decimal("0.05"))
        rows.append((datetime.combine(day, time(0), tzinfo=IST), c, c + 2, c - 2, c, 10_000 + len(rows)))
    bars_store(instrument.pk, "day", rows)
    return days[-1]


def evaluation(agent_sharpes, held_sharpes, *, drawdowns=None, seeds=5) -> dict:
    """A walk-forward evaluation as `rl.evaluation.walk_forward` stores it, with these figures per fold."""
    drawdowns = drawdowns or [0.1] * len(agent_sharpes)
    folds = []
    for k, (mine, held, drawdown) in enumerate(zip(agent_sharpes, held_sharpes, drawdowns, strict=True), 1):
        folds.append(
            {
                "fold": k,
                "seeds": [{"seed": s, "sharpe": str(mine), "max_drawdown": str(drawdown)} for s in range(seeds)],
                "median": {"sharpe": mine, "max_drawdown": drawdown},
                "benchmarks": {"buy_and_hold": {"sharpe": str(held)}, "equal_weight": {"sharpe": str(held)}},
            }
        )
    return {"folds": folds}


PASSING = evaluation([1.2, 0.9, 1.5, 0.2], [0.8, 0.7, 1.1, 0.6])


def full_share_policy(
    instruments: int, window: int = 20, *, sentiment: bool = True, none: bool = False
) -> ExportedPolicy:
    """A policy network whose answer is its full share of every instrument (or, with `none`, nothing of
    any), whatever it observes."""
    inputs = instruments * (window + (4 if sentiment else 3) + 1) + 1
    hidden = np.zeros((inputs, 4), dtype=np.float32)
    out = np.zeros((4, instruments), dtype=np.float32)
    ones = np.ones(instruments, dtype=np.float32)
    bias = -2 * ones if none else 2 * ones
    return ExportedPolicy([(hidden, np.zeros(4, dtype=np.float32)), (out, bias)], "Tanh", -ones, ones)


def agent_make(name: str, instruments: list[str], *, evaluation=PASSING, policy=None, status="candidate"):
    policy = (policy or full_share_policy(len(instruments))).to_bytes()
    return AgentModel.objects.create(
        name=name,
        algorithm="ppo",
        hyperparameters={},
        instruments=instruments,
        data_from=FIRST_DAY,
        data_to=FIRST_DAY + timedelta(days=90),
        seed=0,
        code_version="test",
        steps=1024,
        steps_done=1024,
        curve=[[512, 0.01], [1024, 0.02]],
        evaluation=evaluation,
        policy=policy,
        policy_sha256=hashlib.sha256(policy).hexdigest(),
        status=status,
    )


@pytest.fixture
def market(alice):
    """INFY and TCS with 90 rising daily bars each (more than one decision loads), and alice's paper account."""
    infy = instrument_make("INFY", 408065, "1500.00")
    tcs = instrument_make("TCS", 2953217, "3000.00")
    last = daily_bars(infy, [1470 + k for k in range(90)])
    daily_bars(tcs, [2940 + 2 * k for k in range(90)])
    account = account_create(owner=alice, name="alice-rl", cash=Decimal("10000000"), created_by=alice)
    return infy, tcs, account, last
