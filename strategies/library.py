"""The built-in strategies: SMA crossover, RSI mean reversion, a channel breakout and news sentiment.
All are long-only (delivery cannot sell what it does not hold) and hold a fixed number of shares per
instrument (news sentiment: one or two times it).

Indicators are computed over whole arrays, each value from bars up to its own column only.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from strategies.base import Bars, Param, Strategy


def forward_filled(values: np.ndarray) -> np.ndarray:
    """Each NaN replaced by the last value before it in its row (NaN where there is none yet)."""
    present = ~np.isnan(values)
    if present.all():
        return values
    index = np.where(present, np.arange(values.shape[-1]), 0)
    np.maximum.accumulate(index, axis=-1, out=index)
    filled = np.take_along_axis(values, index, axis=-1)
    filled[~np.maximum.accumulate(present, axis=-1)] = np.nan
    return filled


def paise_sums(values: np.ndarray) -> np.ndarray:
    """Running sums of `values` (prices or price changes, whole paise) in paise, NaN counted as 0. Each
    sum is a whole number below 2**53, so float64 holds it exactly."""
    sums = np.multiply(values, 100.0)
    missing = np.isnan(sums)
    if missing.any():
        sums[missing] = 0.0
    np.rint(sums, out=sums)
    return np.cumsum(sums, axis=-1, out=sums)


def rolling_mean(values: np.ndarray, window: int, sums: np.ndarray | None = None) -> np.ndarray:
    """Mean of the last `window` values, NaN until there are that many (or where one is NaN).

    The values are prices or price changes, whole paise, summed exactly (`paise_sums`, which a caller
    taking several averages of one series passes in): each mean is then the same whichever bar the
    history starts from. The live runner sees a window of recent bars and the backtest all of them;
    float sums would differ between the two in the last bits and could turn a near-tie of two averages
    into different decisions."""
    if values.shape[-1] < window:
        return np.full(values.shape, np.nan)
    out = np.empty(values.shape)  # every column is written: NaN before the first full window
    out[..., : window - 1] = np.nan
    sums = paise_sums(values) if sums is None else sums
    tail = out[..., window - 1 :]
    tail[..., 0] = sums[..., window - 1]
    np.subtract(sums[..., window:], sums[..., :-window], out=tail[..., 1:])
    tail /= window * 100.0
    missing = np.isnan(values)
    if missing.any():
        gaps = np.cumsum(missing, axis=-1)
        window_gaps = gaps[..., window - 1 :].copy()
        window_gaps[..., 1:] -= gaps[..., :-window]
        tail[window_gaps != 0] = np.nan
    return out


def rolling_extreme(values: np.ndarray, window: int, *, highest: bool) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    if values.shape[-1] < window:
        return out
    windows = sliding_window_view(values, window, axis=-1)
    out[..., window - 1 :] = windows.max(axis=-1) if highest else windows.min(axis=-1)
    return out


def held(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """1 from a bar where `enter` holds until the next where `leave` does (enter wins a tie), else 0."""
    state = np.full(enter.shape, np.nan)
    state[leave] = 0.0
    state[enter] = 1.0
    return np.nan_to_num(forward_filled(state), nan=0.0)


def previous(values: np.ndarray) -> np.ndarray:
    """Each value moved one bar later: column t holds column t - 1's value."""
    out = np.full(values.shape, np.nan)
    out[..., 1:] = values[..., :-1]
    return out


QUANTITY = Param(int, 1, 1, 1_000_000, "Shares held in each instrument while in a position")


class SmaCrossover(Strategy):
    def __init__(self):
        super().__init__(
            name="sma_crossover",
            description="Long while the fast simple moving average of the close is above the slow one, "
            "from the first bar where both averages have a previous value (a cross needs two points).",
            params={
                "fast": Param(int, 10, 1, 1_000, "Bars in the fast average"),
                "slow": Param(int, 30, 2, 5_000, "Bars in the slow average"),
                "quantity": QUANTITY,
            },
        )

    def checks(self, p):
        return [] if p["fast"] < p["slow"] else [f"fast ({p['fast']}) must be shorter than slow ({p['slow']})"]

    def warmup(self, p):
        return p["slow"] + 1

    def targets(self, bars: Bars, p):
        close = forward_filled(bars.close)
        sums = paise_sums(close)
        fast, slow = rolling_mean(close, p["fast"], sums), rolling_mean(close, p["slow"], sums)
        crossing_known = np.zeros(slow.shape, dtype=bool)  # the slow average had a value on the bar before
        np.logical_not(np.isnan(slow[..., :-1]), out=crossing_known[..., 1:])
        with np.errstate(invalid="ignore"):
            return np.where((fast > slow) & crossing_known, p["quantity"], 0)


class RsiMeanReversion(Strategy):
    def __init__(self):
        super().__init__(
            name="rsi_reversion",
            description="Buys when the RSI falls below `lower` and sells when it rises above `upper`.",
            params={
                "period": Param(int, 14, 2, 500, "Bars in the RSI's average gain and loss"),
                "lower": Param(float, 30.0, 1.0, 99.0, "RSI at or below which it buys"),
                "upper": Param(float, 70.0, 1.0, 99.0, "RSI at or above which it sells"),
                "quantity": QUANTITY,
            },
        )

    def checks(self, p):
        return [] if p["lower"] < p["upper"] else [f"lower ({p['lower']}) must be below upper ({p['upper']})"]

    def warmup(self, p):
        return p["period"] + 1

    def targets(self, bars: Bars, p):
        close = forward_filled(bars.close)
        change = close - previous(close)
        gain = rolling_mean(np.where(change > 0, change, 0.0), p["period"])
        loss = rolling_mean(np.where(change < 0, -change, 0.0), p["period"])
        with np.errstate(invalid="ignore", divide="ignore"):
            rsi = np.where(loss == 0, 100.0, 100.0 - 100.0 / (1.0 + gain / loss))
            rsi[np.isnan(gain) | np.isnan(loss)] = np.nan
            return held(rsi <= p["lower"], rsi >= p["upper"]) * p["quantity"]


class Breakout(Strategy):
    def __init__(self):
        super().__init__(
            name="breakout",
            description="Buys a close above the highest high of the last `entry` bars; sells a close below "
            "the lowest low of the last `exit` bars.",
            params={
                "entry": Param(int, 20, 2, 1_000, "Bars whose highest high a close must beat to buy"),
                "exit": Param(int, 10, 2, 1_000, "Bars whose lowest low a close must break to sell"),
                "quantity": QUANTITY,
            },
        )

    def warmup(self, p):
        return max(p["entry"], p["exit"]) + 1

    def targets(self, bars: Bars, p):
        close = forward_filled(bars.close)
        high = previous(rolling_extreme(forward_filled(bars.high), p["entry"], highest=True))
        low = previous(rolling_extreme(forward_filled(bars.low), p["exit"], highest=False))
        with np.errstate(invalid="ignore"):
            return held(close > high, close < low) * p["quantity"]


class NewsSentiment(Strategy):
    def __init__(self):
        super().__init__(
            name="news_sentiment",
            description="Buys when the day's decayed mean news sentiment reaches `enter` on at least "
            "`min_articles` articles, holds twice the quantity from `strong`, and sells when it falls to "
            "`exit`. Reads the sentiment store point in "
            "time: a bar sees only articles the platform had by its end. With `quiet` it also sells once "
            "that many bars in a row have had no article in the day before them.",
            params={
                "enter": Param(float, 0.3, 0.0, 1.0, "Decayed mean sentiment at or above which it buys"),
                "strong": Param(float, 0.6, 0.0, 1.0, "At or above this it holds twice `quantity`"),
                "exit": Param(float, 0.0, -1.0, 1.0, "At or below this it sells"),
                "min_articles": Param(int, 2, 1, 1_000, "Articles in the day needed to buy"),
                "quiet": Param(
                    int, 5, 0, 10_000, "Bars in a row with no article in the day before them, then it sells (0: never)"
                ),
                "quantity": QUANTITY,
            },
            signals=("sentiment", "news"),
        )

    def checks(self, p):
        problems = []
        if not p["exit"] < p["enter"]:
            problems.append(f"exit ({p['exit']}) must be below enter ({p['enter']})")
        if p["strong"] < p["enter"]:
            problems.append(f"strong ({p['strong']}) must not be below enter ({p['enter']})")
        return problems

    def targets(self, bars: Bars, p):
        mean, count = bars.signal("sentiment"), bars.signal("news")
        with np.errstate(invalid="ignore"):
            enter = (mean >= p["enter"]) & (count >= p["min_articles"])
            leave = mean <= p["exit"]
        if p["quiet"]:
            columns = np.arange(count.shape[-1])
            last_news = np.maximum.accumulate(np.where(count > 0, columns, -1), axis=-1)
            leave |= (last_news >= 0) & (columns - last_news >= p["quiet"])
        with np.errstate(invalid="ignore"):
            size = np.where(mean >= p["strong"], 2, 1)
        return held(enter, leave) * size * p["quantity"]  # while held, 1 or 2 times quantity as the mean moves


BUILT_IN: dict[str, Strategy] = {
    strategy.name: strategy for strategy in (SmaCrossover(), RsiMeanReversion(), Breakout(), NewsSentiment())
}
