"""Run a backtest: validate the parameters, call the strategy once over all the bars, check it does not
read ahead, fill its decisions on the execution model and compute the figures.

A run is deterministic: its result hash covers the code version (the source of the strategy and of
every module that decides a fill or a charge), the parameters, the costs, the bars themselves and the
trades and equity it produced, so the same run gives the same hash and any change in any of them a
different one.
"""

import hashlib
import inspect
import json
import sys
from dataclasses import asdict, dataclass
from decimal import Decimal
from functools import cached_property

import numpy as np

from strategies import base, engine, lookahead, metrics
from strategies.base import Strategy, parameters_validate, targets_checked
from strategies.engine import Costs, Market, Simulation, simulate
from trading.market import execution
from trading.orders import charges, fills

LOOKAHEAD_CUTS = 3
CODE_MODULES = (base, engine, lookahead, metrics, execution, charges, fills, sys.modules[__name__])


@dataclass
class Result:
    figures: dict
    equity: list[list]  # [IST day, equity in rupees at its last bar]
    result_hash: str
    code_version: str
    market: Market
    run: Simulation

    @cached_property
    def trades(self) -> list[dict]:
        """Every fill with its charges itemised, as stored and shown (listed when first asked for)."""
        return trades_listed(self.market, self.run)


def code_version(strategy: Strategy) -> str:
    digest = hashlib.sha256()
    for module in CODE_MODULES:
        digest.update(inspect.getsource(module).encode())
    digest.update(inspect.getsource(type(strategy)).encode())
    return digest.hexdigest()[:16]


def trades_listed(market: Market, run) -> list[dict]:
    f = run.fills
    names = list(f.parts)
    out = []
    for k in range(len(f)):
        i, bar = int(f.instrument[k]), int(f.bar[k])
        quantity = int(f.quantity[k])
        out.append(
            {
                "symbol": market.symbols[i],
                "decided_at": np.datetime_as_string(market.ts[int(f.decided[k])], unit="s") + "Z",
                "filled_at": np.datetime_as_string(market.ts[bar], unit="s") + "Z",
                "side": "BUY" if quantity > 0 else "SELL",
                "quantity": abs(quantity),
                "price": metrics.rupees(f.price[k]),
                "charges": metrics.rupees(f.charges[k]),
                **{name: metrics.rupees(f.parts[name][k]) for name in names},
                "realised_pnl": metrics.rupees(f.realised[k]),
            }
        )
    return out


def backtest(
    strategy: Strategy,
    market: Market,
    params: dict | None = None,
    *,
    capital: Decimal = Decimal("1000000"),
    costs: Costs | None = None,
    lookahead_cuts: int = LOOKAHEAD_CUTS,
    progress=None,
) -> Result:
    """`progress(fraction, phase)`, if given, is called as each phase ends."""
    progress = progress or (lambda fraction, phase: None)
    costs = costs or Costs()
    p = parameters_validate(strategy, params)
    bars = market.bars()
    targets = targets_checked(strategy, bars, p)
    progress(0.2, "strategy")
    lookahead.lookahead_check(strategy, bars, p, targets, cuts=lookahead_cuts)
    progress(0.6, "look-ahead check")
    run = simulate(market, targets, capital=capital, costs=costs)
    progress(0.8, "fills and charges")
    capital_paise = int(capital * 100)
    days, daily = metrics.daily_last(market.ts, run.equity)
    equity = [[str(day), metrics.rupees(value)] for day, value in zip(days, daily, strict=True)]
    version = code_version(strategy)
    digest = hashlib.sha256()
    header = {
        "code": version,
        "strategy": strategy.name,
        "params": p,
        "capital": str(capital),
        "costs": {key: str(value) for key, value in asdict(costs).items()},
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for part in market.digest_parts():
        digest.update(part)
    f = run.fills
    for array in (f.instrument, f.bar, f.decided, f.quantity, f.price, *f.parts.values(), f.realised, run.equity):
        digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    figures = metrics.figures(market, run, capital_paise)
    progress(1.0, "figures")
    return Result(figures, equity, digest.hexdigest(), version, market, run)
