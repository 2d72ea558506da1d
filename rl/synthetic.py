"""Markets made up for training checks and benchmarks: daily bars whose close-to-close returns follow an
AR(1) process (`phi` the autocorrelation), each bar opening at the previous close, so a return known at
bar t says something about the bar an order decided at t fills on."""

import numpy as np

from strategies.data import session_times
from strategies.engine import Market


def market_autocorrelated(instruments: int, bars: int, *, phi: float, sigma: float = 0.01, seed: int = 1) -> Market:
    rng = np.random.default_rng(seed)
    returns = np.zeros((instruments, bars))
    noise = rng.normal(0, sigma, size=(instruments, bars))
    for t in range(1, bars):
        returns[:, t] = phi * returns[:, t - 1] + noise[:, t]
    close = (np.round(1000 * np.exp(np.cumsum(returns, axis=1)) * 20) * 5).astype(np.int64)  # paise, 5-paise tick
    open_ = np.empty_like(close)
    open_[:, 0] = close[:, 0]
    open_[:, 1:] = close[:, :-1]
    return Market(
        instrument_ids=tuple(range(1, instruments + 1)),
        symbols=tuple(f"AR{k:03d}" for k in range(1, instruments + 1)),
        ts=session_times(bars, minute=False),
        open=open_,
        high=np.maximum(open_, close) + 5,
        low=np.minimum(open_, close) - 5,
        close=close,
        volume=rng.integers(10_000, 100_000, size=(instruments, bars)),
        present=np.ones((instruments, bars), dtype=bool),
        tick_paise=np.full(instruments, 5, dtype=np.int64),
        lot=np.ones(instruments, dtype=np.int64),
    )
