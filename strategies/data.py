"""Markets for the backtester: bars of several instruments on one time axis, from rows or made up.

`market_build` takes each instrument's bars as (ts, open, high, low, close, volume) rows and aligns
them on the union of their times; prices must be whole paise multiples of the instrument's tick.
`market_synthetic` makes a seeded random walk on NSE session times, for demos and benchmarks.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from strategies.engine import Market
from tradingsite.exceptions import ValidationError


def paise_of(value, symbol: str, tick_paise: int) -> int:
    paise = Decimal(str(value)) * 100
    if paise != paise.to_integral_value():
        raise ValidationError(f"{symbol}: price {value} is not a whole number of paise")
    if int(paise) % tick_paise:
        raise ValidationError(f"{symbol}: price {value} is not a multiple of the tick ({tick_paise} paise)")
    return int(paise)


def on_tick(value, tick: Decimal) -> Decimal:
    """A price rounded to the nearest multiple of the tick (an imported or adjusted history need not be
    on it)."""
    return (Decimal(value) / tick).to_integral_value() * tick


def market_build(
    instruments: Sequence[tuple[int, str, Decimal, int]],
    rows: dict[str, Sequence[tuple[datetime, object, object, object, object, int]]],
) -> Market:
    """`instruments` as (id, symbol, tick size, lot size); `rows[symbol]` that instrument's bars."""
    stamps = sorted({row[0].astimezone(UTC) for bars in rows.values() for row in bars})
    if not stamps:
        raise ValidationError("no bars for " + ", ".join(symbol for _, symbol, _, _ in instruments))
    column = {ts: k for k, ts in enumerate(stamps)}
    shape = (len(instruments), len(stamps))
    prices = {name: np.zeros(shape, dtype=np.int64) for name in ("open", "high", "low", "close")}
    volume = np.zeros(shape, dtype=np.int64)
    present = np.zeros(shape, dtype=bool)
    for i, (_, symbol, tick, _) in enumerate(instruments):
        tick_paise = int(Decimal(tick) * 100)
        for ts, *ohlc, vol in rows.get(symbol, ()):
            t = column[ts.astimezone(UTC)]
            values = [paise_of(value, symbol, tick_paise) for value in ohlc]
            if not (values[2] <= min(values[0], values[3]) and values[1] >= max(values[0], values[3])):
                raise ValidationError(f"{symbol} bar at {ts.isoformat()}: high and low do not contain open and close")
            for name, value in zip(("open", "high", "low", "close"), values, strict=True):
                prices[name][i, t] = value
            volume[i, t] = int(vol)
            present[i, t] = True
    return Market(
        instrument_ids=tuple(instrument[0] for instrument in instruments),
        symbols=tuple(instrument[1] for instrument in instruments),
        ts=np.array([np.datetime64(ts.replace(tzinfo=None), "us") for ts in stamps]),
        volume=volume,
        present=present,
        tick_paise=np.array([int(Decimal(tick) * 100) for _, _, tick, _ in instruments], dtype=np.int64),
        lot=np.array([int(lot) for *_, lot in instruments], dtype=np.int64),
        **prices,
    )


SESSION_OPEN_UTC = np.timedelta64(3 * 60 + 45, "m")  # 09:15 IST
SESSION_MINUTES = 375  # 09:15 to 15:30 IST


def session_times(days: int, *, minute: bool, start: str = "2020-07-01") -> np.ndarray:
    """Weekday session times from `start`: one per day (the open) or one per minute of the session."""
    calendar = np.arange(np.datetime64(start, "D"), np.datetime64(start, "D") + int(days * 7 / 5) + 7)
    weekdays = calendar[np.is_busday(calendar)][:days]
    opens = weekdays.astype("datetime64[us]") + SESSION_OPEN_UTC
    if not minute:
        return opens
    minutes = np.arange(SESSION_MINUTES).astype("timedelta64[m]").astype("timedelta64[us]")
    return (opens[:, None] + minutes[None, :]).ravel()


def market_synthetic(
    instruments: int, days: int, *, minute: bool = False, seed: int = 7, news: bool = False, phi: float = 0.0
) -> Market:
    """A random walk per instrument, prices on a 5-paise tick from about Rs 100 to Rs 3,000; with `phi`,
    returns that follow an AR(1) process of that autocorrelation instead (an edge a learner can find);
    with `news`, made-up "sentiment" and "news" inputs as well (on about a third of the bars, -1 to 1)."""
    rng = np.random.default_rng(seed)
    ts = session_times(days, minute=minute)
    n = len(ts)
    sigma = 0.0008 if minute else 0.015
    start = rng.uniform(100, 3000, size=(instruments, 1))
    returns = rng.normal(0, sigma, size=(instruments, n))
    for t in range(1, n) if phi else ():
        returns[:, t] += phi * returns[:, t - 1]
    walk = start * np.exp(np.cumsum(returns, axis=1))
    close = (np.round(walk * 20) * 5).astype(np.int64)  # paise, on the tick
    open_ = np.empty_like(close)
    open_[:, 0] = close[:, 0]
    open_[:, 1:] = close[:, :-1] + 5 * rng.integers(-2, 3, size=(instruments, n - 1))
    spread = 5 * rng.integers(0, 6, size=(2, instruments, n))
    high = np.maximum(open_, close) + spread[0]
    low = np.maximum(np.minimum(open_, close) - spread[1], 5)
    signals = {}
    if news:
        count = rng.poisson(0.5, size=(instruments, n)).astype(float)
        signals = {
            "news": count,
            "sentiment": np.where(count > 0, np.round(rng.uniform(-1, 1, count.shape), 3), np.nan),
        }
    return Market(
        signals=signals,
        instrument_ids=tuple(range(1, instruments + 1)),
        symbols=tuple(f"SYN{k:03d}" for k in range(1, instruments + 1)),
        ts=ts,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=rng.integers(1_000, 100_000, size=(instruments, n)),
        present=np.ones((instruments, n), dtype=bool),
        tick_paise=np.full(instruments, 5, dtype=np.int64),
        lot=np.ones(instruments, dtype=np.int64),
    )


def market_from_db(instruments, interval: str, start: datetime, end: datetime, *, limit: int = 10_000_000) -> Market:
    """Stored bars of `instruments` (Instrument rows) in [start, end), prices rounded to each one's tick
    (stored bars keep paise; an imported or adjusted history need not be on the tick); with `limit`, each
    instrument's latest `limit` bars only."""
    from trading.market.bars import INTERVALS, bars_history

    if interval not in INTERVALS:
        raise ValidationError(f"interval must be one of {', '.join(INTERVALS)}, not {interval!r}")
    rows, described = {}, []
    for instrument in instruments:
        tick = Decimal(instrument.tick_size)
        bars = bars_history(instrument.pk, interval, start=start, end=end, limit=limit)

        rows[instrument.tradingsymbol] = [
            (b["ts"], *(on_tick(b[k], tick) for k in ("open", "high", "low", "close")), b["volume"]) for b in bars
        ]
        described.append((instrument.pk, instrument.tradingsymbol, tick, instrument.lot_size))
    return market_build(described, rows)


SIGNAL_WIDTHS = {
    "1m": np.timedelta64(1, "m"),
    "5m": np.timedelta64(5, "m"),
    "15m": np.timedelta64(15, "m"),
    "1h": np.timedelta64(1, "h"),
    "1d": np.timedelta64(1, "D"),
}


def signals_attach(market: Market, interval: str, names: Sequence[str]) -> Market:
    """The market with the inputs a strategy reads besides prices, each value as known at its bar's end
    (its start plus the interval, which is no later than the next bar's open, where a decision fills):
    "sentiment" (the day's decayed mean news sentiment, -1 to 1, NaN with no news) and "news" (the day's
    article count), from the sentiment store, point in time."""
    from sentiment.selectors import sentiment_series

    unknown = sorted(set(names) - {"sentiment", "news"})
    if unknown:
        raise ValidationError(f"no input {', '.join(unknown)} (there are sentiment and news)")
    if not names:
        return market
    ends = [(ts + SIGNAL_WIDTHS[interval]).astype("datetime64[us]").item().replace(tzinfo=UTC) for ts in market.ts]
    means, counts = sentiment_series(market.symbols, ends, window="1d")
    signals = {"sentiment": np.array(means, dtype=float), "news": np.array(counts, dtype=float)}
    market.signals = {name: signals[name].reshape(len(market.symbols), len(ends)) for name in names}
    return market
