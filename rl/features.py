"""What an agent observes of the market at bar t, computed for every bar at once, each value from bars
up to t only (tests/rl/test_env.py alters the bars after t and checks nothing at t moves).

Per instrument and bar, as float32:
- the last `window` log returns of the close in percent (oldest first, 0 before the history starts);
- the volatility: the standard deviation of those returns (percent);
- the 14-bar RSI, scaled to -0.5 .. 0.5;
- the log volume's distance from its mean over the window, in standard deviations;
- the day's decayed mean news sentiment where the market carries it (0 without news).
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from strategies.engine import Market, close_carried

RSI_PERIOD = 14


def trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` values along the last axis (of fewer at the start)."""
    sums = np.cumsum(values, axis=-1)
    out = sums.copy()
    out[..., window:] -= sums[..., :-window]
    counts = np.minimum(np.arange(1, values.shape[-1] + 1), window)
    return out / counts


def features_build(market: Market, window: int) -> np.ndarray:
    """(bars, instruments, window + 3 or 4) float32."""
    close = close_carried(market).astype(np.float64)
    m, n = close.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where((close[:, :-1] > 0) & (close[:, 1:] > 0), np.log(close[:, 1:] / close[:, :-1]), 0.0)
    returns = np.concatenate([np.zeros((m, 1)), returns], axis=1)  # (m, n): the return into bar t
    padded = np.concatenate([np.zeros((m, window - 1)), returns], axis=1)
    lagged = sliding_window_view(padded, window, axis=1)  # (m, n, window): returns t - window + 1 .. t
    volatility = lagged.std(axis=2)
    gain = trailing_mean(np.maximum(returns, 0.0), RSI_PERIOD)
    loss = trailing_mean(np.maximum(-returns, 0.0), RSI_PERIOD)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = np.where(gain + loss > 0, gain / (gain + loss), 0.5) - 0.5
    volume = np.log1p(np.where(market.present, market.volume, 0).astype(np.float64))
    mean = trailing_mean(volume, window)
    spread = np.sqrt(np.maximum(trailing_mean(volume**2, window) - mean**2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        volume_z = np.where(spread > 0, (volume - mean) / spread, 0.0)
    # Returns in percent: daily log returns are hundredths, too small for the network's first layer to
    # tell apart at its initial weights.
    parts = [lagged * 100.0, volatility[..., None] * 100.0, rsi[..., None], volume_z[..., None]]
    if "sentiment" in market.signals:
        parts.append(np.nan_to_num(market.signals["sentiment"], nan=0.0)[..., None])
    stacked = np.concatenate(parts, axis=2)  # (m, n, features)
    return np.ascontiguousarray(stacked.transpose(1, 0, 2), dtype=np.float32)
