"""The RL environment is the backtester's execution model: the same actions give the same fills,
charges and equity; and what an agent observes at bar t depends on no bar after t."""

import copy
from decimal import Decimal

import numpy as np
import pytest

from rl.env import TradingEnv
from rl.features import features_build
from strategies.data import market_synthetic
from strategies.engine import Costs, simulate

pytestmark = pytest.mark.django_db
D = Decimal


def gappy_market():
    """Three instruments over 150 sessions, with bars missing here and there (a fill waits for the next)."""
    market = market_synthetic(3, 150, seed=11, news=True)
    rng = np.random.default_rng(3)
    missing = rng.random(market.present.shape) < 0.05
    missing[:, :25] = False
    market.present = market.present & ~missing
    for name in ("open", "high", "low", "close", "volume"):
        getattr(market, name)[missing] = 0
    market.lot = np.array([1, 5, 1])
    return market


def episode(env: TradingEnv, seed: int):
    """Random actions, held for a few bars at a time, to the end; the equity after each step."""
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    action, equity, done = rng.uniform(-1, 1, env.instruments), [], False
    while not done:
        if rng.random() < 0.3:
            action = np.where(rng.random(env.instruments) < 0.3, -1.0, rng.uniform(-1, 1, env.instruments))
        _, _, done, _, info = env.step(action.astype(np.float32))
        equity.append(info["equity"])
    return equity


def test_the_environments_fills_charges_and_equity_equal_the_backtesters_for_the_same_actions():
    market = gappy_market()
    costs = Costs(slippage_bps=D("7.5"), charges=True)
    env = TradingEnv(market, capital=D("1000000"), costs=costs, window=20)

    equity = episode(env, seed=5)

    run = simulate(market, env.targets_array(), capital=D("1000000"), costs=costs)
    f = run.fills
    columns = (f.instrument, f.bar, f.decided, f.quantity, f.price, f.charges)
    backtested = sorted(zip(*(column.tolist() for column in columns), strict=True))
    assert len(env.fills) > 40
    assert sorted(env.fills) == backtested
    assert equity == run.equity[env.start + 1 : env.end].tolist()
    assert any(bar > decided + 1 for _, bar, decided, *_ in env.fills)  # some waited for a missing bar


def test_an_observation_at_t_is_unchanged_when_bars_after_t_are_altered():
    market = gappy_market()
    t = 90
    altered = copy.deepcopy(market)
    rng = np.random.default_rng(9)
    for name in ("open", "high", "low", "close"):
        values = getattr(altered, name)
        values[:, t + 1 :] = (values[:, t + 1 :] * rng.uniform(0.5, 1.5, values[:, t + 1 :].shape)).astype(np.int64)
    altered.volume[:, t + 1 :] = rng.integers(1, 10**6, altered.volume[:, t + 1 :].shape)
    altered.signals["sentiment"][:, t + 1 :] = rng.uniform(-1, 1, altered.signals["sentiment"][:, t + 1 :].shape)

    before, after = features_build(market, 20), features_build(altered, 20)

    assert np.array_equal(before[: t + 1], after[: t + 1])
    assert not np.array_equal(before[t + 1 :], after[t + 1 :])  # the alteration did change later bars
    # and the environment, given the same actions up to t, shows the same observation at t
    observed = []
    for m in (market, altered):
        env = TradingEnv(m, costs=Costs(charges=False), window=20)
        observation, _ = env.reset(seed=0)
        for _ in range(t - env.start):
            observation, *_ = env.step(np.full(env.instruments, 0.5, dtype=np.float32))
        observed.append(observation)
    assert np.array_equal(observed[0], observed[1])
