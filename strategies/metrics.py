"""A backtest's figures: returns and risk from the equity curve, trade statistics from the fills, and
buy-and-hold and equal-weight benchmarks over the same instruments and bars.

Money is exact (Decimal rupees from paise); ratios are rounded to six places so that a result hashes
the same on every machine. Daily figures use the equity at each IST day's last bar; annualising uses
252 trading days and, for CAGR, calendar days.
"""

from decimal import Decimal

import numpy as np

from strategies.engine import IST_OFFSET, Market, Simulation, close_carried

TRADING_DAYS = 252


def rupees(paise) -> str:
    return str(Decimal(int(paise)).scaleb(-2))


def ratio(value: float | None) -> str | None:
    if value is None or not np.isfinite(value):
        return None
    return f"{value:.6f}"


def daily_last(ts: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The value at each IST day's last bar, with the days."""
    days = (ts + IST_OFFSET).astype("datetime64[D]")
    last = np.ones(len(days), dtype=bool)
    last[:-1] = days[1:] != days[:-1]
    return days[last], values[..., last]


def curve_figures(ts: np.ndarray, equity: np.ndarray, start_value: float) -> dict:
    days, daily = daily_last(ts, equity.astype(float))
    series = np.concatenate([[start_value], daily])
    returns = series[1:] / series[:-1] - 1.0
    peak = np.maximum.accumulate(series)
    drawdown = 1.0 - series / peak
    elapsed = (ts[-1] - ts[0]) / np.timedelta64(1, "D") if len(ts) > 1 else 0.0
    total = series[-1] / series[0] - 1.0
    cagr = (series[-1] / series[0]) ** (365.25 / elapsed) - 1.0 if elapsed > 0 and series[-1] > 0 else None
    std = returns.std(ddof=1) if len(returns) > 1 else 0.0
    downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2)) if len(returns) else 0.0
    mean = returns.mean() if len(returns) else 0.0
    return {
        "total_return": ratio(total),
        "cagr": ratio(cagr),
        "sharpe": ratio(mean / std * np.sqrt(TRADING_DAYS)) if std > 0 else None,
        "sortino": ratio(mean / downside * np.sqrt(TRADING_DAYS)) if downside > 0 else None,
        "max_drawdown": ratio(float(drawdown.max())),
        "days": len(days),
    }


def benchmarks(market: Market, capital_paise: int) -> dict:
    """Buy-and-hold: the capital split equally at each instrument's first close and held. Equal weight:
    the same split rebalanced at every day's close (the mean of the instruments' daily returns)."""
    close = close_carried(market).astype(float)
    started = close > 0
    first = np.where(started.any(axis=1), close[np.arange(len(close)), started.argmax(axis=1)], np.nan)
    growth = np.where(started, close / first[:, None], 1.0)
    held = np.nanmean(growth, axis=0) * capital_paise
    days, daily_close = daily_last(market.ts, close)
    with np.errstate(divide="ignore", invalid="ignore"):
        day_returns = np.where(daily_close[:, :-1] > 0, daily_close[:, 1:] / daily_close[:, :-1] - 1.0, np.nan)
    mean_returns = np.nan_to_num(np.nanmean(day_returns, axis=0) if day_returns.size else np.zeros(0))
    weighted = capital_paise * np.cumprod(np.concatenate([[1.0], 1.0 + mean_returns]))
    day_ts = np.array([np.datetime64(day, "us") for day in days]) if len(days) else market.ts[:0]
    return {
        "buy_and_hold": curve_figures(market.ts, held, capital_paise),
        "equal_weight": curve_figures(day_ts, weighted, capital_paise) if len(days) else {},
    }


def figures(market: Market, run: Simulation, capital_paise: int) -> dict:
    fills = run.fills
    traded_value = int(np.abs(fills.quantity * fills.price).sum())
    closing = fills.realised != 0
    winners = int((fills.realised[closing] > 0).sum())
    invested = (run.position != 0).any(axis=0)
    average_equity = float(run.equity.mean()) if len(run.equity) else 0.0
    out = curve_figures(market.ts, run.equity, capital_paise)
    out.update(
        {
            "final_equity": rupees(run.equity[-1]),
            "net_pnl": rupees(run.equity[-1] - capital_paise),
            "realised_pnl": rupees(fills.realised.sum()),
            "charges_paid": rupees(fills.charges.sum()),
            "fills": len(fills),
            "closing_fills": int(closing.sum()),
            "win_rate": ratio(winners / int(closing.sum())) if closing.any() else None,
            "exposure": ratio(float(invested.mean())),
            "turnover": ratio(traded_value / average_equity) if average_equity > 0 else None,
            "benchmarks": benchmarks(market, capital_paise),
        }
    )
    return out
