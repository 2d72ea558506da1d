"""Reinforcement learning speed. Prints one JSON object:

- `action_latency_us_p50` / `_p99`: one observation through the exported policy (numpy, no torch),
  the serving path; target p50 at most 50 microseconds.
- `env_steps_per_second`: the environment (the backtester's execution model) stepped with random
  actions on one core, with charges and slippage; target at least 20,000. Also with 10 instruments.
- `train_steps_per_second`: PPO (stable-baselines3, one torch thread) learning on it.
"""

import json
import os
import time
from decimal import Decimal

import numpy as np
from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

django_start("rl")

STEPS = int(os.environ.get("BENCH_RL_TRAIN_STEPS", "8192"))


def env_rate(instruments: int) -> float:
    from rl.env import TradingEnv
    from strategies.data import market_synthetic
    from strategies.engine import Costs

    env = TradingEnv(
        market_synthetic(instruments, 2000, phi=0.3, seed=2),
        costs=Costs(slippage_bps=Decimal("5"), charges=True),
        window=20,
    )
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1.0, 1.0, (4096, instruments)).astype(np.float32)
    env.reset(seed=0)
    steps, started = 0, time.perf_counter()
    while time.perf_counter() - started < 3.0:
        _, _, done, _, _ = env.step(actions[steps % 4096])
        steps += 1
        if done:
            env.reset()
    return round(steps / (time.perf_counter() - started))


def train_and_latency() -> dict:
    from rl.env import TradingEnv
    from rl.policy import policy_export
    from rl.training import Hyper, agent_train
    from strategies.data import market_synthetic
    from strategies.engine import Costs

    env = TradingEnv(market_synthetic(1, 2000, phi=0.3, seed=2), costs=Costs(charges=True), window=20)
    started = time.perf_counter()
    model = agent_train(env, steps=STEPS, seed=1, hyper=Hyper())
    train_rate = STEPS / (time.perf_counter() - started)
    policy = policy_export(model)
    observation, _ = env.reset(seed=0)
    for _ in range(1000):
        policy.act(observation)
    latencies = []
    for _ in range(20_000):
        began = time.perf_counter_ns()
        policy.act(observation)
        latencies.append(time.perf_counter_ns() - began)
    latencies.sort()
    return {
        "action_latency_us_p50": round(latencies[len(latencies) // 2] / 1000, 2),
        "action_latency_us_p99": round(latencies[int(len(latencies) * 0.99)] / 1000, 2),
        "observation_size": int(observation.shape[0]),
        "train_steps_per_second": round(train_rate),
        "train_steps": STEPS,
    }


def main() -> None:
    with bench_run():
        result = {"env_steps_per_second": env_rate(1), "env_steps_per_second_10_instruments": env_rate(10)}
        result.update(train_and_latency())
    result["targets"] = {"action_latency_us_p50": 50, "env_steps_per_second": 20_000}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
