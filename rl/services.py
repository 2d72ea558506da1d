"""Training agents into the registry, checkpointed as they go: a run that dies (its worker killed) is
taken up again from its last checkpoint by the next run of the same agent, not started over."""

import hashlib
import io
import logging
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from audit.services import audit_record
from rl.env import TradingEnv
from rl.models import AgentModel
from rl.policy import policy_export
from rl.training import ALGORITHMS, Hyper, agent_train
from strategies.engine import Costs, Market
from tradingsite.exceptions import ValidationError

logger = logging.getLogger(__name__)


def agent_create(
    *,
    name: str,
    instruments: list[str],
    data_from: date,
    data_to: date,
    seed: int,
    steps: int,
    hyper: Hyper,
    data_source: str = "",
) -> AgentModel:
    if hyper.algorithm not in ALGORITHMS:
        raise ValidationError(f"algorithm must be one of {', '.join(ALGORITHMS)}, not {hyper.algorithm!r}")
    if steps < 1:
        raise ValidationError(f"steps must be at least 1, not {steps}")
    if AgentModel.objects.filter(name=name).exists():
        raise ValidationError(f"there is already an agent named {name!r}")
    return AgentModel.objects.create(
        name=name,
        algorithm=hyper.algorithm,
        hyperparameters=asdict(hyper),
        instruments=instruments,
        data_source=data_source,
        data_from=data_from,
        data_to=data_to,
        seed=seed,
        code_version=rl_code_version(),
        steps=steps,
    )


def rl_code_version() -> str:
    from rl import env, features, training

    digest = hashlib.sha256()
    for module in (env, features, training):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def agent_env(agent: AgentModel, market: Market) -> TradingEnv:
    return TradingEnv(
        market,
        costs=Costs(slippage_bps=settings.RL_SLIPPAGE_BPS, charges=True),
        window=settings.RL_WINDOW,
        drawdown_penalty=settings.RL_DRAWDOWN_PENALTY,
        band=agent_hyper(agent).band,
    )


class AgentBusy(ValidationError):
    pass


def lease_take(agent: AgentModel) -> None:
    """Hold the agent for this run until RL_LEASE_SECONDS from now, or raise AgentBusy where another run
    holds it."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    until = now + timedelta(seconds=settings.RL_LEASE_SECONDS)
    if not AgentModel.objects.filter(free, pk=agent.pk, status=AgentModel.Status.TRAINING).update(lease_until=until):
        held = AgentModel.objects.filter(pk=agent.pk).values_list("lease_until", flat=True).first()
        raise AgentBusy(
            f"agent {agent.name} is held by another training run until {held:%Y-%m-%d %H:%M:%S} UTC; "
            "if that run died, its hold lapses then and this one can resume it"
            if held
            else f"agent {agent.name} is not training"
        )
    agent.lease_until = until


def agent_train_run(agent: AgentModel, market: Market, *, progress=None) -> AgentModel:
    """Train `agent` to its steps, saving a checkpoint (the model, the steps done, the curve so far)
    every RL_CHECKPOINT_STEPS; from its last checkpoint where it has one. Ends as a candidate with its
    exported policy. Holds the agent's lease while it runs: a second run of it at once is refused."""

    lease_take(agent)
    try:
        return agent_train_held(agent, market, progress=progress)
    finally:
        AgentModel.objects.filter(pk=agent.pk).update(lease_until=None)


def agent_train_held(agent: AgentModel, market: Market, *, progress=None) -> AgentModel:
    from stable_baselines3 import A2C, PPO

    env = agent_env(agent, market)
    hyper = agent_hyper(agent)
    every = settings.RL_CHECKPOINT_STEPS
    if agent.checkpoint:
        saved = io.BytesIO(bytes(agent.checkpoint))
        model = {"ppo": PPO, "a2c": A2C}[agent.algorithm].load(saved, env=env, device="cpu")
        logger.info("agent %s resumes from its checkpoint at step %s", agent.name, agent.steps_done)
    else:
        model = agent_train(env, steps=0, seed=agent.seed, hyper=hyper)
    while agent.steps_done < agent.steps:
        chunk = min(every, agent.steps - agent.steps_done)
        model.learn(total_timesteps=chunk, reset_num_timesteps=False)
        episodes = [info["r"] for info in model.ep_info_buffer]
        checkpoint = io.BytesIO()
        model.save(checkpoint)
        agent.steps_done += chunk
        agent.curve = [*agent.curve, [agent.steps_done, round(sum(episodes) / len(episodes), 6) if episodes else None]]
        agent.checkpoint = checkpoint.getvalue()
        agent.lease_until = timezone.now() + timedelta(seconds=settings.RL_LEASE_SECONDS)
        AgentModel.objects.filter(pk=agent.pk).update(
            steps_done=agent.steps_done, curve=agent.curve, checkpoint=agent.checkpoint, lease_until=agent.lease_until
        )
        if progress is not None:
            progress(agent.steps_done / agent.steps)
    policy = policy_export(model).to_bytes()
    AgentModel.objects.filter(pk=agent.pk).update(policy=policy, policy_sha256=hashlib.sha256(policy).hexdigest())
    pending = (agent.evaluation or {}).get("pending")
    if pending:  # a retrained agent is judged before it is proposed (its run holds it meanwhile)
        renew = lambda _: lease_renew(agent)  # noqa: E731
        agent_evaluate(agent, market, folds=pending["folds"], seeds=pending["seeds"], progress=renew)
    AgentModel.objects.filter(pk=agent.pk).update(status=AgentModel.Status.CANDIDATE)
    agent.refresh_from_db()
    if pending:
        gate = agent.evaluation.get("gate", {})
        audit_record(
            action="rl.agent_proposed",
            actor="rl-retrain",
            object_type="agent",
            object_id=agent.pk,
            payload={"agent": agent.name, "data_to": str(agent.data_to), "gate": gate},
        )
    return agent


def lease_renew(agent: AgentModel) -> None:
    agent.lease_until = timezone.now() + timedelta(seconds=settings.RL_LEASE_SECONDS)
    AgentModel.objects.filter(pk=agent.pk).update(lease_until=agent.lease_until)


def agent_hyper(agent: AgentModel) -> Hyper:
    """The agent's recipe; an agent stored before the band and the starting spread were part of it had
    neither (no band, a spread of 0)."""
    stored = {"band": 0.0, "log_std_init": 0.0, **agent.hyperparameters}
    return Hyper(**{**stored, "net": tuple(stored.get("net", (64, 64)))})


def agent_evaluate(agent: AgentModel, market: Market, *, folds: int, seeds: int, progress=None) -> AgentModel:
    """The walk-forward of the agent's recipe (its algorithm, hyperparameters and steps) over `market`,
    with the promotion gate's verdict, stored as the agent's evaluation."""
    from rl.evaluation import walk_forward
    from rl.promotion import gate_judge

    table = walk_forward(
        market,
        folds=folds,
        seeds=seeds,
        steps=agent.steps,
        hyper=agent_hyper(agent),
        window=settings.RL_WINDOW,
        drawdown_penalty=settings.RL_DRAWDOWN_PENALTY,
        costs=Costs(slippage_bps=settings.RL_SLIPPAGE_BPS, charges=True),
        progress=progress,
    )
    evaluation = {"evaluated_at": timezone.now().isoformat(), "seeds_per_fold": seeds, "steps": agent.steps, **table}
    evaluation["gate"] = gate_judge(evaluation).as_dict()
    AgentModel.objects.filter(pk=agent.pk).update(evaluation=evaluation)
    agent.evaluation = evaluation
    return agent


def retrain_propose(today: date) -> AgentModel | None:
    """A new agent on RL_RETRAIN_INSTRUMENTS' stored daily bars up to the day before `today`, to train
    and judge (the beat job `rl-retrain` queues it); None where none is configured or it exists already."""
    if not settings.RL_RETRAIN_INSTRUMENTS:
        return None
    data_to = today - timedelta(days=1)
    name = f"{settings.RL_RETRAIN_PREFIX}-{data_to.isoformat()}"
    if AgentModel.objects.filter(name=name).exists():
        return None
    from strategies.services import instruments_named

    named = instruments_named(settings.RL_RETRAIN_INSTRUMENTS)  # an unknown one stops it here, named
    agent = agent_create(
        name=name,
        instruments=[f"{i.exchange}:{i.tradingsymbol}" for i in named],
        data_from=date.fromisoformat(settings.RL_RETRAIN_FROM),
        data_to=data_to,
        seed=0,
        steps=settings.RL_TRAIN_STEPS,
        hyper=Hyper(algorithm=settings.RL_ALGORITHM),
    )
    pending = {"folds": settings.RL_GATE_MIN_FOLDS, "seeds": settings.RL_GATE_MIN_SEEDS}
    AgentModel.objects.filter(pk=agent.pk).update(evaluation={"pending": pending})
    agent.evaluation = {"pending": pending}
    return agent


def agent_market(agent: AgentModel) -> Market:
    from rl.data import market_for

    folder = Path(agent.data_source) if agent.data_source else None
    return market_for(data=folder, instruments=agent.instruments, start=agent.data_from, end=agent.data_to)


def agents_stalled() -> list[AgentModel]:
    """Agents still training that no run holds: their run died (or was never started)."""
    now = timezone.now()
    lapsed = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return list(AgentModel.objects.filter(lapsed, status=AgentModel.Status.TRAINING).defer("checkpoint", "policy"))
