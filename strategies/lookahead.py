"""Look-ahead analysis: a strategy's decision at bar t must not change when the bars after t are taken
away. Each cut reruns the strategy on the bars up to a point and compares every decision up to that
point with the run over all the bars; a difference names the instrument, the bar and both values.

The backtester runs a few cuts on every backtest and fails the run on a difference (`lookahead_check`);
`lookahead_analysis` runs as many as asked and reports them all.
"""

import numpy as np

from strategies.base import Bars, LookAheadError, Strategy, targets_checked


def cut_points(count: int, warmup: int, cuts: int) -> list[int]:
    """`cuts` columns spread evenly after the warm-up (the last bar excluded: nothing comes after it)."""
    first, last = min(warmup, count - 2), count - 2
    if cuts <= 0 or last < 0:
        return []
    return sorted({int(round(x)) for x in np.linspace(max(first, 0), last, cuts)})


def differences(strategy: Strategy, bars: Bars, p: dict, full: np.ndarray, cut: int) -> list[dict]:
    seen = targets_checked(strategy, bars.upto(cut + 1), p)
    changed = np.argwhere(seen != full[:, : cut + 1])
    return [
        {
            "cut_after": str(bars.ts[cut]),
            "instrument": bars.symbols[i],
            "bar": str(bars.ts[t]),
            "with_all_bars": int(full[i, t]),
            "with_bars_up_to_cut": int(seen[i, t]),
        }
        for i, t in changed[:10]
    ]


def lookahead_analysis(strategy: Strategy, bars: Bars, p: dict, *, cuts: int = 8, full=None) -> list[dict]:
    full = targets_checked(strategy, bars, p) if full is None else full
    found = []
    for cut in cut_points(bars.count, strategy.warmup(p), cuts):
        found.extend(differences(strategy, bars, p, full, cut))
    return found


def lookahead_check(strategy: Strategy, bars: Bars, p: dict, full: np.ndarray, *, cuts: int) -> None:
    for cut in cut_points(bars.count, strategy.warmup(p), cuts):
        found = differences(strategy, bars, p, full, cut)
        if found:
            first = found[0]
            raise LookAheadError(
                f"strategy {strategy.name} reads bars after the one it decides on: its target for "
                f"{first['instrument']} at {first['bar']} is {first['with_all_bars']} with all the bars but "
                f"{first['with_bars_up_to_cut']} with the bars up to {first['cut_after']}",
                details={"differences": found},
            )
