"""Reinforcement-learning settings, read from the environment (imported into tradingsite.settings)."""

from decimal import Decimal, InvalidOperation

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def env_number(name: str, default: str, *, most: Decimal | None = None) -> Decimal:
    """A decimal of at least 0 (and at most `most`), or start-up stops naming the variable."""
    raw = env.str(name, default)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0 or (most is not None and value > most):
        within = f"from 0 to {most}" if most is not None else "of at least 0"
        raise ImproperlyConfigured(f"{name} must be a number {within}, not {raw!r}")
    return value


def env_fraction(name: str, default: str) -> Decimal:
    return env_number(name, default, most=Decimal(1))


# The environment agents train in (bars in each observation, slippage, the reward's drawdown penalty),
# how often training saves a checkpoint, and `rl_train`'s defaults.
RL_WINDOW = env.int("RL_WINDOW", 20)
RL_SLIPPAGE_BPS = env_number("RL_SLIPPAGE_BPS", "5")
RL_DRAWDOWN_PENALTY = env.float("RL_DRAWDOWN_PENALTY", 0.5)
RL_CHECKPOINT_STEPS = env.int("RL_CHECKPOINT_STEPS", 10_000)
# Longer is not better here: at 100,000 steps the agents traded more and did worse out of sample.
RL_TRAIN_STEPS = env.int("RL_TRAIN_STEPS", 30_000)
RL_ALGORITHM = env.str("RL_ALGORITHM", "ppo")
# A run holds its agent this long past each checkpoint; training's Celery queue (for GPU nodes' workers;
# empty: "<REDIS_NAMESPACE>.rl").
RL_LEASE_SECONDS = env.int("RL_LEASE_SECONDS", 600)
RL_QUEUE = env.str("RL_QUEUE", "")

# The promotion gate: a model may be proposed for live trading only when its recipe's walk-forward has
# at least these folds and seeds, its median Sharpe beats buy-and-hold's in more than RL_GATE_FOLDS_SHARE
# of the folds, and no fold's median maximum drawdown is past RL_GATE_MAX_DRAWDOWN (a fraction).
RL_GATE_MIN_FOLDS = env.int("RL_GATE_MIN_FOLDS", 4)
RL_GATE_MIN_SEEDS = env.int("RL_GATE_MIN_SEEDS", 5)
RL_GATE_FOLDS_SHARE = env_fraction("RL_GATE_FOLDS_SHARE", "0.5")
RL_GATE_MAX_DRAWDOWN = env_fraction("RL_GATE_MAX_DRAWDOWN", "0.25")

# Retraining (beat job `rl-retrain`, every RL_RETRAIN_SECONDS): when RL_RETRAIN_INSTRUMENTS names
# instruments (EXCHANGE:SYMBOL), a new agent is trained on their stored daily bars from RL_RETRAIN_FROM
# to the last closed day, and judged walk-forward; it is only ever proposed (a candidate), never promoted.
RL_RETRAIN_INSTRUMENTS = env.list("RL_RETRAIN_INSTRUMENTS", default=[])
RL_RETRAIN_FROM = env.str("RL_RETRAIN_FROM", "2020-07-01")
RL_RETRAIN_SECONDS = env.int("RL_RETRAIN_SECONDS", 7 * 86400)
RL_RETRAIN_PREFIX = env.str("RL_RETRAIN_PREFIX", "retrained")

# A promoted policy trades on its account as the strategy RL_STRATEGY_NAME, with this notional capital
# (its equal shares of equity, as in training, are of this plus what its trades made or lost).
RL_STRATEGY_NAME = env.str("RL_STRATEGY_NAME", "rl-agent")
RL_LIVE_CAPITAL = env_number("RL_LIVE_CAPITAL", "1000000")
