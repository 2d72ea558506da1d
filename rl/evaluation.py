"""Judging agents out of sample: a policy run over bars it was not trained on, with the backtester's
fills, charges and figures, beside buy-and-hold, equal weight and the SMA crossover on the same bars; and
walk-forward folds in time, several seeds each, every model scored on the fold after its training data.
"""

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from rl.env import TradingEnv
from rl.policy import policy_export
from rl.training import Hyper, agent_train
from strategies import metrics
from strategies.base import parameters_validate, targets_checked
from strategies.engine import Costs, Market, simulate
from strategies.library import BUILT_IN

FIGURES = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "turnover", "charges_paid")


def segment_figures(market: Market, targets: np.ndarray, start: int, *, capital: Decimal, costs: Costs) -> dict:
    """The run of `targets` on `market`, figures over bars `start` on (the bars before only warm up)."""
    run = simulate(market, targets, capital=capital, costs=costs)
    fills = run.fills
    chosen = fills.bar >= start
    equity = run.equity[start - 1 :] if start else run.equity
    figures = metrics.curve_figures(market.ts[start - 1 :] if start else market.ts, equity, float(equity[0]))
    traded = int(np.abs(fills.quantity[chosen] * fills.price[chosen]).sum())
    figures["turnover"] = metrics.ratio(traded / float(equity.mean())) if equity.mean() > 0 else None
    figures["charges_paid"] = metrics.rupees(int(fills.charges[chosen].sum()))
    return figures


@dataclass(frozen=True)
class Judged:
    market: Market  # the test bars with `warmup` bars before them
    warmup: int


def policy_judged(act, judged: Judged, *, window: int, capital: Decimal, costs: Costs, band: float = 0.0) -> dict:
    env = TradingEnv(judged.market, capital=capital, costs=costs, window=window, band=band, start=judged.warmup)
    observation, _ = env.reset(seed=0)
    done = False
    while not done:
        observation, _, done, _, _ = env.step(act(observation))
    return segment_figures(judged.market, env.targets_array(), judged.warmup, capital=capital, costs=costs)


def benchmarks_judged(judged: Judged, *, capital: Decimal, costs: Costs) -> dict:
    test = judged.market.between(judged.warmup, judged.market.count)
    out = metrics.benchmarks(test, int(capital * 100))
    sma = BUILT_IN["sma_crossover"]
    p = parameters_validate(sma, {"fast": 10, "slow": 30})
    # Sized like the agent's full position: an equal share of the capital per instrument at the first close.
    first_close = test.close[:, 0].astype(float) / 100
    budget = float(capital) / len(test.symbols)
    quantity = np.floor(budget / np.where(first_close > 0, first_close, np.inf)).astype(np.int64)
    signal = targets_checked(sma, judged.market.bars(), p)
    targets = np.where(signal > 0, quantity[:, None], 0)
    out["sma_crossover"] = segment_figures(judged.market, targets, judged.warmup, capital=capital, costs=costs)
    return {name: {key: figures.get(key) for key in FIGURES if key in figures} for name, figures in out.items()}


def median_of(rows: list[dict], key: str):
    values = [float(row[key]) for row in rows if row.get(key) is not None]
    return round(float(np.median(values)), 4) if values else None


def walk_forward(
    market: Market,
    *,
    folds: int = 4,
    seeds: int = 5,
    steps: int,
    hyper: Hyper | None = None,
    window: int = 20,
    drawdown_penalty: float = 0.0,
    capital: Decimal = Decimal("1000000"),
    costs: Costs | None = None,
    progress=None,
) -> dict:
    """The bars cut into `folds` + 1 equal spans in time: fold k trains on every span before span k + 1
    and is judged on span k + 1, once per seed. Per fold: each seed's figures, their medians, and the
    benchmarks on the same bars."""
    costs = costs or Costs(slippage_bps=Decimal("5"), charges=True)
    hyper = hyper or Hyper()
    edges = np.linspace(0, market.count, folds + 2).astype(int)
    table = []
    for k in range(folds):
        train_end, test_end = int(edges[k + 1]), int(edges[k + 2])
        train = TradingEnv(
            market.between(0, train_end),
            capital=capital,
            costs=costs,
            window=window,
            drawdown_penalty=drawdown_penalty,
            band=hyper.band,
        )
        judged = Judged(market.between(train_end - max(window, 31), test_end), max(window, 31))
        runs = []
        for seed in range(seeds):
            policy = policy_export(agent_train(train, steps=steps, seed=seed, hyper=hyper))
            runs.append(
                {
                    "seed": seed,
                    **policy_judged(policy.act, judged, window=window, capital=capital, costs=costs, band=hyper.band),
                }
            )
            if progress is not None:
                progress((k * seeds + seed + 1) / (folds * seeds))
        table.append(
            {
                "fold": k + 1,
                "train": day_range(market, 0, train_end),
                "test": day_range(market, train_end, test_end),
                "seeds": runs,
                "median": {key: median_of(runs, key) for key in FIGURES if key != "charges_paid"},
                "benchmarks": benchmarks_judged(judged, capital=capital, costs=costs),
            }
        )
    return {"folds": table}


def day_range(market: Market, start: int, end: int) -> list[str]:
    days = (market.ts[[start, end - 1]] + np.timedelta64(330, "m")).astype("datetime64[D]")
    return [str(day) for day in days]
