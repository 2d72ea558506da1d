"""Agents trained with stable-baselines3 on the environment: an edge in the data is learnt within a
minute of CPU, the same seed gives the same model, and the exported policy acts as the trained one."""

import numpy as np
import pytest

from rl.env import TradingEnv
from rl.policy import ExportedPolicy, policy_export
from rl.training import Hyper, agent_train, episode_reward, random_policy
from strategies.data import market_synthetic
from strategies.engine import Costs

pytestmark = pytest.mark.django_db
COSTS = Costs(charges=False)


def envs(phi: float):
    """Training on the first 600 bars of an AR(1) series, judged on the 400 after them."""
    market = market_synthetic(1, 1000, phi=phi, seed=4)
    train = TradingEnv(market, costs=COSTS, window=5, end=600)
    test = TradingEnv(market, costs=COSTS, window=5, start=600)
    return train, test


def test_a_short_training_run_learns_an_edge_that_a_random_policy_does_not_have():
    train, test = envs(phi=0.6)

    model = agent_train(train, steps=15_000, seed=1, hyper=Hyper(n_steps=256, batch_size=64, learning_rate=1e-3))

    policy = policy_export(model)
    learnt = episode_reward(test, policy.act)
    chance = np.median([episode_reward(test, random_policy(test, seed)) for seed in range(5)])
    # Each step's reward is the equity change over the capital: these are returns over the 400 test bars.
    assert learnt > chance + 0.15, (learnt, chance)


def test_the_same_seed_gives_the_same_model_and_the_export_acts_as_it():
    train, test = envs(phi=0.6)
    hyper = Hyper(n_steps=128, batch_size=64)

    first = agent_train(train, steps=1_024, seed=7, hyper=hyper)
    again = agent_train(TradingEnv(train.market, costs=COSTS, window=5, end=600), steps=1_024, seed=7, hyper=hyper)
    other = agent_train(TradingEnv(train.market, costs=COSTS, window=5, end=600), steps=1_024, seed=8, hyper=hyper)

    exported = [policy_export(model) for model in (first, again, other)]
    assert exported[0].to_bytes() == exported[1].to_bytes() != exported[2].to_bytes()
    observation, _ = test.reset(seed=0)
    for _ in range(50):
        served = ExportedPolicy.from_bytes(exported[0].to_bytes()).act(observation)
        predicted, _ = first.predict(observation, deterministic=True)
        assert served == pytest.approx(predicted, abs=1e-5)
        observation, *_ = test.step(served)
    assert episode_reward(test, exported[0].act) == episode_reward(test, exported[1].act)


def test_the_same_seeds_give_the_same_walk_forward_evaluation():
    from rl.evaluation import walk_forward

    market = market_synthetic(2, 400, phi=0.3, seed=9)
    runs = [
        walk_forward(market, folds=2, seeds=2, steps=256, hyper=Hyper(n_steps=128, batch_size=64), window=5)
        for _ in range(2)
    ]

    assert runs[0] == runs[1]
    sharpes = [run["sharpe"] for fold in runs[0]["folds"] for run in fold["seeds"]]
    assert len(sharpes) == 4 and len(set(sharpes)) > 1  # the seeds differ from one another
