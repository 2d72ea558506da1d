"""A promoted policy trading live: a strategy of kind "rl" on an account, stepped by the strategy runner
(strategies.runner) on every closed daily bar, its orders through the same `order_place`, risk checks
and kill switch as a person's, attributed to the strategy.

The policy sees what it saw in training: `rl.features` over the stored bars up to the closed bar, the
strategy's own holdings (its sub-ledger) and cash, as `rl.env.observation_fill` lays them out; its
answer is sized into whole lots by `rl.env.targets_sized` with the agent's no-trade band. Cash is the
strategy's notional capital (`parameters["capital"]`, else RL_LIVE_CAPITAL) less what its fills cost,
plus what they brought in, less their charges. Each decision is stored (`AgentDecision`) with the
observation, the action and the orders, whatever the risk checks made of them.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from rl.env import observation_fill, targets_sized, weights_of
from rl.features import features_build
from rl.models import AgentDecision, AgentModel
from rl.policy import ExportedPolicy, policy_fits
from strategies.data import market_from_db, signals_attach
from strategies.engine import close_carried
from strategies.runner import (
    EARLIEST,
    Step,
    bar_claim,
    bucket_start,
    orders_toward,
    step_refused,
    strategy_holdings,
)
from trading.models import Strategy, StrategyPosition
from trading.orders import locks
from tradingsite.exceptions import ApplicationError

log = logging.getLogger(__name__)
# Bars loaded for one decision: the feature window plus the RSI's period and some to spare.
EXTRA_BARS = 40


@lru_cache(maxsize=16)
def policy_loaded(sha256: str, data: bytes) -> ExportedPolicy:
    return ExportedPolicy.from_bytes(data)


def reads_sentiment(policy: ExportedPolicy, instruments: int, window: int) -> bool:
    """Whether the policy was trained with the sentiment feature: its input size says so."""
    size = policy.layers[0][0].shape[0]
    per_instrument = (size - 1) // instruments - 1  # each one's features, then its weight
    if per_instrument not in (window + 3, window + 4) or (size - 1) % instruments:
        raise ApplicationError(
            f"the policy takes {size} inputs, which is not {instruments} instruments' features over a "
            f"{window}-bar window (RL_WINDOW has changed since it was trained?)"
        )
    return per_instrument == window + 4


def strategy_cash(strategy: Strategy, capital: Decimal) -> Decimal:
    """The book's cash: its capital, plus what its closed trades made, less what its open positions cost
    and every charge. Shares moved into or out of the book without a trade (a cross at the square-off,
    another book selling them) move their cost with them, so cash stays what the book itself paid."""
    figures = StrategyPosition.objects.filter(strategy=strategy).aggregate(
        realised=Sum("realised_pnl"), cost=Sum("open_cost"), charges=Sum("charges")
    )
    return capital + (figures["realised"] or 0) - (figures["cost"] or 0) - (figures["charges"] or 0)


def decisions_visible(user):
    """The back office's roles read every account's live decisions; a trader those on their own accounts."""
    decisions = AgentDecision.objects.select_related("agent", "strategy__account")
    return decisions if user.is_staff else decisions.filter(strategy__account__owner=user)


def agent_of(strategy: Strategy) -> AgentModel:
    name = (strategy.parameters or {}).get("agent")
    agent = AgentModel.objects.filter(name=name).defer("checkpoint").first() if name else None
    if agent is None:
        raise ApplicationError(f"strategy {strategy.name} names no agent in the registry ({name!r})")
    if agent.status != AgentModel.Status.PROMOTED:
        raise ApplicationError(f"agent {agent.name} is {agent.status}, not promoted: it may not trade")
    pinned = (strategy.parameters or {}).get("policy_sha256")
    if pinned != agent.policy_sha256:
        raise ApplicationError(f"agent {agent.name}'s policy is not the one approved for strategy {strategy.name}")
    return agent


@dataclass
class Decision:
    agent: AgentModel
    instruments: list
    decided_on: datetime
    observation: np.ndarray
    action: np.ndarray
    close: np.ndarray
    holdings: dict
    held: np.ndarray
    coming: np.ndarray
    targets: np.ndarray
    cash: int
    equity: int


def decision_make(strategy: Strategy, now: datetime) -> Decision | None:
    """What the policy wants on the last closed daily bar; None where it has decided on that bar."""
    from strategies.services import instruments_named

    agent = agent_of(strategy)
    policy = policy_loaded(agent.policy_sha256, bytes(agent.policy))
    policy_fits(policy)
    instruments = instruments_named(agent.instruments)
    window = settings.RL_WINDOW
    sentiment = reads_sentiment(policy, len(instruments), window)
    market = market_from_db(instruments, "1d", EARLIEST, bucket_start("1d", now), limit=window + EXTRA_BARS)
    if sentiment:
        market = signals_attach(market, "1d", ["sentiment"])
    decided_on = market.ts[-1].astype("datetime64[us]").item().replace(tzinfo=UTC)
    if strategy.last_decided_at is not None and decided_on <= strategy.last_decided_at:
        return None
    holdings = strategy_holdings(strategy)
    held = np.array([holdings.get(i.pk, (0, 0))[0] for i in instruments], dtype=np.int64)
    coming = np.array([holdings.get(i.pk, (0, 0))[1] for i in instruments], dtype=np.int64)
    close = close_carried(market)[:, -1]
    capital = Decimal(str((strategy.parameters or {}).get("capital", settings.RL_LIVE_CAPITAL)))
    cash = int(strategy_cash(strategy, capital) * 100)
    equity = cash + int((held * close).sum())
    features = features_build(market, window)[-1].reshape(-1)
    observation = observation_fill(
        np.zeros(len(features) + len(instruments) + 1, dtype=np.float32), features, held, close, cash, equity
    )
    action = policy.act(observation)
    band = float((agent.hyperparameters or {}).get("band", 0.0))
    targets = targets_sized(weights_of(action), close, equity, market.lot.astype(np.int64), held + coming, band)
    return Decision(
        agent, instruments, decided_on, observation, action, close, holdings, held, coming, targets, cash, equity
    )


def agent_step(strategy: Strategy, now: datetime | None = None) -> Step:
    """Decide on the last closed daily bar, if not decided on yet; place what the policy wants; record it.
    The claim of the bar, the orders and the record commit together (under the account's lock, taken
    first as on the order path): a step that fails leaves the bar to the next one, nothing half done."""
    now = now or timezone.now()
    step = Step(strategy.name)
    try:
        decision = decision_make(strategy, now)
    except ApplicationError as exc:
        return step_refused(strategy, step, exc)
    if decision is None:
        return step
    agent = decision.agent
    with transaction.atomic():
        locks.account_lock(strategy.account_id)
        # Only while it still runs this agent: a retirement or another promotion since wins.
        if not bar_claim(strategy, decision.decided_on, parameters__agent=agent.name):
            return step
        step.orders = orders_toward(strategy, decision.instruments, decision.targets.tolist(), decision.holdings)
        AgentDecision.objects.create(
            strategy=strategy,
            agent=agent,
            policy_sha256=agent.policy_sha256,
            bar_at=decision.decided_on,
            instruments=[f"{i.exchange}:{i.tradingsymbol}" for i in decision.instruments],
            observation=[float(x) for x in decision.observation],
            action=[float(x) for x in decision.action],
            closes=[str(Decimal(int(c)).scaleb(-2)) for c in decision.close],
            holdings=[[int(h), int(c)] for h, c in zip(decision.held, decision.coming, strict=True)],
            targets=[int(t) for t in decision.targets],
            cash=Decimal(decision.cash).scaleb(-2),
            equity=Decimal(decision.equity).scaleb(-2),
            orders=[
                {
                    "id": order.pk,
                    "instrument": f"{order.exchange}:{order.tradingsymbol}",
                    "side": order.transaction_type,
                    "quantity": order.quantity,
                    "status": order.status,
                    "message": order.status_message,
                }
                for order in step.orders
            ],
        )
    strategy.last_decided_at = step.decided_on = decision.decided_on
    return step
