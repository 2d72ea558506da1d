"""Backtester speed: bars per second for the SMA crossover with charges and slippage, over 100
instruments x 5 years of daily bars and 100 instruments x 1 year of minute bars (9.4 million), and
backtesting.py's bars per second for the same strategy on part of the same bars, in the same run.

Each figure includes everything a backtest does: the strategy's targets, the look-ahead check, the
fills, charges, equity curve, figures and result hash (trades are listed as dicts only when stored or
shown, which is not timed). Bars are a seeded random walk (strategies/
data.py); charge rates come from a throwaway database. Prints one JSON object; the target is at least
1 million bars per second and at least 20 times the peer.
"""

import json
import os
import time
import warnings
from decimal import Decimal

from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

django_start("backtest")

import pandas as pd  # noqa: E402
from backtesting import Backtest  # noqa: E402

from strategies.backtest import backtest  # noqa: E402
from strategies.data import market_synthetic  # noqa: E402
from strategies.engine import Costs  # noqa: E402
from strategies.library import BUILT_IN  # noqa: E402
from tests.strategies.peer import PeerSma  # noqa: E402 - the same peer rule the tests check against

INSTRUMENTS = int(os.environ.get("BENCH_BACKTEST_INSTRUMENTS", "100"))
PEER_INSTRUMENTS = int(os.environ.get("BENCH_BACKTEST_PEER_INSTRUMENTS", "3"))
# Each figure is the best of this many runs, ours and the peer's alike: the machine's other work only
# ever slows a run down, so the fastest is the nearest to what the code costs.
REPEATS = int(os.environ.get("BENCH_BACKTEST_REPEATS", "3"))
PARAMS = {"fast": 10, "slow": 30, "quantity": 10}
COSTS = Costs(slippage_bps=Decimal("5"))


def ours(market, repeats: int = 1) -> dict:
    elapsed = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        result = backtest(BUILT_IN["sma_crossover"], market, PARAMS, capital=Decimal("100000000"), costs=COSTS)
        elapsed = min(elapsed, time.perf_counter() - started)
    bars = int(market.present.sum())
    return {
        "bars": bars,
        "seconds": round(elapsed, 3),
        "bars_per_s": round(bars / elapsed),
        "fills": len(result.trades),
    }


def peer(market, rows: int, bars_per_row: int | None = None, repeats: int = 1) -> dict:
    bars, elapsed = 0, 0.0
    for row in range(rows):
        end = bars_per_row or market.count
        frame = pd.DataFrame(
            {
                "Open": market.open[row, :end] / 100,
                "High": market.high[row, :end] / 100,
                "Low": market.low[row, :end] / 100,
                "Close": market.close[row, :end] / 100,
                "Volume": market.volume[row, :end],
            },
            index=pd.DatetimeIndex(market.ts[:end]),
        )
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Backtest(frame, PeerSma, cash=10**9, commission=0.0005, finalize_trades=True).run(**PARAMS)
            best = min(best, time.perf_counter() - started)
        elapsed += best
        bars += end
    return {"bars": bars, "seconds": round(elapsed, 3), "bars_per_s": round(bars / elapsed)}


def main() -> None:
    with bench_run():
        daily = market_synthetic(INSTRUMENTS, 5 * 252)
        minute = market_synthetic(INSTRUMENTS, 250, minute=True)
        ours(market_synthetic(2, 300))  # warm-up: imports, rate table
        figures = {"daily_5y": ours(daily, REPEATS), "minute_1y": ours(minute, REPEATS)}
        peers = {
            "daily_5y": peer(daily, PEER_INSTRUMENTS, repeats=REPEATS),
            "minute_1y": peer(minute, 1, 375 * 40, repeats=REPEATS),
        }
        for name, figure in figures.items():
            figure["peer_bars_per_s"] = peers[name]["bars_per_s"]
            figure["times_peer"] = round(figure["bars_per_s"] / peers[name]["bars_per_s"], 1)
    print(
        json.dumps(
            {
                "bench": "backtest",
                "strategy": "sma_crossover 10/30 with charges and 5 bps slippage",
                "instruments": INSTRUMENTS,
                "peer": "backtesting.py 0.6.6, the same rule, on "
                f"{PEER_INSTRUMENTS} daily instruments and 40 minute-bar sessions of one",
                "best_of": REPEATS,
                **figures,
                "target_bars_per_s": 1_000_000,
                "target_times_peer": 20,
            }
        )
    )


if __name__ == "__main__":
    main()
