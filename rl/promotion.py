"""The promotion gate and maker-checker for putting an agent's policy into live trading.

An agent's evidence is the walk-forward of its recipe (its algorithm, hyperparameters, steps and
instruments, trained fold by fold on the data before each fold and judged on the fold), stored as its
`evaluation`; the agent itself is trained on all of its data range. The gate passes only when that
walk-forward has enough folds and seeds, the median Sharpe over the seeds beats buy-and-hold's in more
than RL_GATE_FOLDS_SHARE of the folds, and no fold's median maximum drawdown is past RL_GATE_MAX_DRAWDOWN.

A person with the promote permission asks for a promotion onto an account; the request waits, like a
raised risk limit, for a second person to approve it (trading.orders.approvals). On approval the gate is
judged again (thresholds or the evaluation may have changed), and the agent becomes the account's
RL_STRATEGY_NAME strategy's policy; the agent it replaces there is retired.
"""

import logging
import math
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from rl.models import AgentModel
from trading.models import ApprovalRequest, Order, Strategy, StrategyPosition, TradingAccount
from trading.orders import locks
from trading.orders.approvals import approval_kind_register, request_open
from trading.orders.services import order_cancel
from tradingsite.exceptions import ApplicationError, ConflictError, NotFoundError

# A promoted agent may be put on another account too.
logger = logging.getLogger(__name__)
PROMOTABLE = (AgentModel.Status.CANDIDATE, AgentModel.Status.RETIRED, AgentModel.Status.PROMOTED)


class GateRefused(ApplicationError):
    """The agent's out-of-sample figures do not pass the promotion gate."""

    code = "gate_refused"
    status = 422


@dataclass
class Verdict:
    passed: bool
    reasons: list[str] = field(default_factory=list)  # each threshold it failed, in words
    folds: int = 0
    folds_beaten: int = 0  # folds whose median Sharpe beat buy-and-hold's
    worst_drawdown: float | None = None  # the largest of the folds' median maximum drawdowns

    def as_dict(self) -> dict:
        return asdict(self)


def number(value) -> float | None:
    """A figure as a float; None where it is missing or not a finite number (no evidence either way)."""
    try:
        figure = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return figure if figure is not None and math.isfinite(figure) else None


def gate_judge(evaluation: dict) -> Verdict:
    folds = (evaluation or {}).get("folds") or []
    verdict = Verdict(passed=False, folds=len(folds))
    if not folds:
        verdict.reasons.append("it has no walk-forward evaluation")
        return verdict
    reasons = verdict.reasons
    if len(folds) < settings.RL_GATE_MIN_FOLDS:
        reasons.append(f"its walk-forward has {len(folds)} folds; the gate needs at least {settings.RL_GATE_MIN_FOLDS}")
    fewest = min(len(fold.get("seeds") or []) for fold in folds)
    if fewest < settings.RL_GATE_MIN_SEEDS:
        reasons.append(f"a fold has only {fewest} seeds; the gate needs at least {settings.RL_GATE_MIN_SEEDS}")
    drawdowns = []
    for fold in folds:
        agent = number((fold.get("median") or {}).get("sharpe"))
        held = number(((fold.get("benchmarks") or {}).get("buy_and_hold") or {}).get("sharpe"))
        if agent is not None and held is not None and agent > held:
            verdict.folds_beaten += 1
        drawdown = number((fold.get("median") or {}).get("max_drawdown"))
        drawdowns.append(1.0 if drawdown is None else drawdown)  # no figure: no evidence of a bounded loss
    share = settings.RL_GATE_FOLDS_SHARE
    if not verdict.folds_beaten > float(share) * len(folds):
        reasons.append(
            f"its median Sharpe beat buy-and-hold's in {verdict.folds_beaten} of {len(folds)} folds; the gate "
            f"needs more than {float(share):.0%} of them"
        )
    verdict.worst_drawdown = max(drawdowns)
    worst = drawdowns.index(verdict.worst_drawdown)
    if verdict.worst_drawdown > float(settings.RL_GATE_MAX_DRAWDOWN):
        reasons.append(
            f"fold {folds[worst].get('fold', worst + 1)}'s median maximum drawdown is "
            f"{verdict.worst_drawdown:.1%}, past the {float(settings.RL_GATE_MAX_DRAWDOWN):.0%} limit"
        )
    verdict.passed = not reasons
    return verdict


def gate_check(agent: AgentModel) -> Verdict:
    verdict = gate_judge(agent.evaluation)
    if not verdict.passed:
        raise GateRefused(
            f"agent {agent.name} fails the promotion gate: " + "; ".join(verdict.reasons),
            details={"gate": verdict.as_dict()},
        )
    return verdict


def promotion_request(*, agent_name: str, account: TradingAccount, requested_by, reason: str = "") -> ApprovalRequest:
    """Ask for `agent_name`'s policy to trade on `account`: refused outright where the gate fails or the
    agent cannot trade live; otherwise a request that a second person approves or rejects."""
    agent = AgentModel.objects.filter(name=agent_name).defer("checkpoint").first()
    if agent is None:
        raise NotFoundError(f"no agent {agent_name!r} in the registry")
    promotable_check(agent)
    verdict = gate_check(agent)
    with transaction.atomic():
        account = locks.account_lock(account.pk)  # two requests at once: one is opened, the other refused
        return request_open(
            account=account,
            kind=ApprovalRequest.Kind.AGENT_PROMOTE,
            changes={"agent": agent.name, "policy_sha256": agent.policy_sha256, "gate": verdict.as_dict()},
            reason=reason,
            requested_by=requested_by,
        )


def promotable_check(agent: AgentModel) -> None:
    if agent.status not in PROMOTABLE:
        raise ConflictError(f"agent {agent.name} is {agent.status}: only a trained agent is promoted")
    if not agent.policy_sha256:
        raise ConflictError(f"agent {agent.name} has no exported policy")
    if agent.data_source:
        # Live, it observes the database's bars (as traded, lots and ticks of the instrument master);
        # trained on a folder's adjusted CSV bars, a split would look to it like a crash.
        raise ConflictError(
            f"agent {agent.name} was trained on the CSV bars in {agent.data_source}; live it would observe "
            "the database's bars: train it on those (rl_train without --data) to trade live"
        )


def promotion_apply(approval: ApprovalRequest, approver) -> None:
    """On approval (inside its transaction, the account locked): judge the gate again, then make the
    agent the policy of the account's RL strategy, retiring the agent it replaces. Rows are locked agents
    first (by id), then the strategy, as retiring takes them."""
    from strategies.services import instruments_named

    name = approval.changes.get("agent")
    strategy = Strategy.objects.filter(account=approval.account, name=settings.RL_STRATEGY_NAME).first()
    previous = (strategy.parameters or {}).get("agent") if strategy else None
    locked = AgentModel.objects.select_for_update().defer("checkpoint", "policy").filter(name__in={name, previous})
    agents = {agent.name: agent for agent in locked.order_by("pk")}
    agent = agents.get(name)
    if agent is None:
        raise NotFoundError(f"no agent {name!r} in the registry any more")
    if agent.policy_sha256 != approval.changes.get("policy_sha256"):
        raise ConflictError(f"agent {agent.name}'s policy has changed since the request: ask again")
    promotable_check(agent)
    verdict = gate_check(agent)
    instruments = instruments_named(agent.instruments)
    if strategy is not None:
        strategy = Strategy.objects.select_for_update().get(pk=strategy.pk)
        if strategy.kind != Strategy.Kind.RL:
            raise ConflictError(f"account {approval.account} has a {strategy.kind} strategy named {strategy.name}")
        if (strategy.parameters or {}).get("agent") != previous:
            raise ConflictError(f"strategy {strategy.name} changed while this was approved: approve again")
        elsewhere = StrategyPosition.objects.filter(strategy=strategy).exclude(quantity=0)
        elsewhere = elsewhere.exclude(instrument__in=instruments).select_related("instrument")
        if elsewhere:
            held = ", ".join(f"{p.quantity} {p.instrument.tradingsymbol}" for p in elsewhere)
            raise ConflictError(
                f"strategy {strategy.name} still holds {held}, which agent {agent.name} does not trade: "
                "square those off first"
            )
    capital = (strategy.parameters or {}).get("capital") if strategy else None
    values = {
        "kind": Strategy.Kind.RL,
        "parameters": {
            "agent": agent.name,
            "policy_sha256": agent.policy_sha256,
            "capital": capital or str(settings.RL_LIVE_CAPITAL),
        },
        "instruments": [f"{i.exchange}:{i.tradingsymbol}" for i in instruments],
        "interval": "1d",
        "product": "CNC",
        "enabled": True,
        "disabled_reason": "",
    }
    if strategy is None:
        strategy = Strategy.objects.create(account=approval.account, name=settings.RL_STRATEGY_NAME, **values)
    else:
        Strategy.objects.filter(pk=strategy.pk).update(updated_at=timezone.now(), **values)
    AgentModel.objects.filter(pk=agent.pk).update(status=AgentModel.Status.PROMOTED, updated_at=timezone.now())
    if previous and previous != agent.name:
        still_used = Strategy.objects.filter(kind=Strategy.Kind.RL, parameters__agent=previous).exclude(pk=strategy.pk)
        if not still_used.exists():
            AgentModel.objects.filter(name=previous).update(status=AgentModel.Status.RETIRED, updated_at=timezone.now())
    audit_record(
        action="rl.agent_promoted",
        actor=approver,
        object_type="agent",
        object_id=agent.pk,
        payload={
            "agent": agent.name,
            "policy_sha256": agent.policy_sha256,
            "account": approval.account_id,
            "strategy": strategy.pk,
            "replaced": previous,
            "requested_by": approval.requested_by.get_username(),
            "approved_by": approver.get_username(),
            "gate": verdict.as_dict(),
        },
    )


def agent_retire(*, agent: AgentModel, retired_by, reason: str = "") -> AgentModel:
    """Take an agent out of live trading: every RL strategy running it is disabled, saying why, its
    pending promotions expire, and then its strategies' live orders are cancelled."""
    with transaction.atomic():
        agent = AgentModel.objects.select_for_update().defer("checkpoint", "policy").get(pk=agent.pk)
        if agent.status == AgentModel.Status.TRAINING:
            raise ConflictError(f"agent {agent.name} is still training")
        why = f"agent {agent.name} retired by {retired_by.get_username()}" + (f": {reason}" if reason else "")
        running = Strategy.objects.filter(kind=Strategy.Kind.RL, parameters__agent=agent.name, enabled=True)
        stopped = list(running.values_list("pk", flat=True))
        running.update(enabled=False, disabled_reason=why, updated_at=timezone.now())
        expired = ApprovalRequest.objects.filter(
            kind=ApprovalRequest.Kind.AGENT_PROMOTE, status=ApprovalRequest.Status.PENDING, changes__agent=agent.name
        ).update(status=ApprovalRequest.Status.EXPIRED, decision_note=f"expired: {why}"[:200])
        agent.status = AgentModel.Status.RETIRED
        agent.save(update_fields=["status", "updated_at"])
        audit_record(
            action="rl.agent_retired",
            actor=retired_by,
            object_type="agent",
            object_id=agent.pk,
            payload={"agent": agent.name, "strategies_stopped": stopped, "requests_expired": expired, "reason": reason},
        )
    # Each cancel on its own, after the stop has committed (each takes its account's lock, as orders do).
    live = Order.objects.filter(strategy_id__in=stopped, status__in=list(Order.LIVE))
    for order in live.select_related("account"):
        try:
            order_cancel(order=order, cancelled_by=retired_by, reason=why[:200])
        except ApplicationError as exc:  # it filled or ended meanwhile
            logger.info("order %s of retired agent %s not cancelled: %s", order.pk, agent.name, exc.message)
    return agent


approval_kind_register(ApprovalRequest.Kind.AGENT_PROMOTE, promotion_apply)
