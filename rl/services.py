"""Training agents into the registry, checkpointed as they go: a run that dies (its worker killed) is
taken up again from its last checkpoint by the next run of the same agent, not started over."""

import hashlib
import io
import logging
from dataclasses import asdict
from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import transaction

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
    )


def agent_train_run(agent: AgentModel, market: Market, *, progress=None) -> AgentModel:
    """Train `agent` to its steps, saving a checkpoint (the model, the steps done, the curve so far)
    every RL_CHECKPOINT_STEPS; from its last checkpoint where it has one. Ends as a candidate with its
    exported policy."""
    from stable_baselines3 import A2C, PPO

    env = agent_env(agent, market)
    hyper = Hyper(**{**agent.hyperparameters, "net": tuple(agent.hyperparameters.get("net", (64, 64)))})
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
        AgentModel.objects.filter(pk=agent.pk).update(
            steps_done=agent.steps_done, curve=agent.curve, checkpoint=agent.checkpoint
        )
        if progress is not None:
            progress(agent.steps_done / agent.steps)
    policy = policy_export(model).to_bytes()
    with transaction.atomic():
        AgentModel.objects.filter(pk=agent.pk).update(
            policy=policy,
            policy_sha256=hashlib.sha256(policy).hexdigest(),
            status=AgentModel.Status.CANDIDATE,
        )
    agent.refresh_from_db()
    return agent
