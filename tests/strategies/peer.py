"""backtesting.py (a peer backtester from PyPI) running the SMA crossover rule, for the checks that
ours trades as it does."""

import warnings
from decimal import Decimal

import numpy as np
import pandas as pd
from backtesting import Backtest
from backtesting import Strategy as PeerStrategy


class PeerSma(PeerStrategy):
    fast = 10
    slow = 30
    quantity = 7

    def init(self):
        close = pd.Series(self.data.Close)
        self.fast_sma = self.I(lambda: close.rolling(self.fast).mean().to_numpy(), name="fast")
        self.slow_sma = self.I(lambda: close.rolling(self.slow).mean().to_numpy(), name="slow")

    def next(self):
        long = self.fast_sma[-1] > self.slow_sma[-1]
        if long and not self.position:
            self.buy(size=self.quantity)
        elif not long and self.position:
            self.position.close()


def peer_trades(market, row: int, fast: int, slow: int) -> list[tuple]:
    frame = pd.DataFrame(
        {
            "Open": market.open[row] / 100,
            "High": market.high[row] / 100,
            "Low": market.low[row] / 100,
            "Close": market.close[row] / 100,
            "Volume": market.volume[row],
        },
        index=pd.DatetimeIndex(market.ts),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(frame, PeerSma, cash=10**9, commission=0, finalize_trades=False).run(fast=fast, slow=slow)
    return [
        (int(t.EntryBar), Decimal(str(round(t.EntryPrice, 2))), int(t.ExitBar), Decimal(str(round(t.ExitPrice, 2))))
        for t in stats._trades.itertuples()
    ]


def our_round_trips(result, market, symbol: str) -> list[tuple]:
    column = {np.datetime_as_string(ts, unit="s") + "Z": k for k, ts in enumerate(market.ts)}
    fills = [t for t in result.trades if t["symbol"] == symbol]
    buys, sells = fills[0::2], fills[1::2]
    assert all(b["side"] == "BUY" for b in buys) and all(s["side"] == "SELL" for s in sells)
    return [
        (column[b["filled_at"]], Decimal(b["price"]), column[s["filled_at"]], Decimal(s["price"]))
        for b, s in zip(buys, sells, strict=False)
    ]
