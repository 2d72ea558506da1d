"""An independent check: with charges and slippage off, the SMA crossover trades on the same bars and
at the same prices as backtesting.py (a peer backtester from PyPI) does with the same rule."""

import pytest

from strategies.backtest import backtest
from strategies.data import market_synthetic
from strategies.engine import Costs
from strategies.library import BUILT_IN
from tests.strategies.peer import our_round_trips, peer_trades

pytestmark = pytest.mark.django_db


def test_the_sma_crossover_trades_as_backtesting_py_does_with_charges_and_slippage_off():
    market = market_synthetic(3, 600, seed=11)
    params = {"fast": 10, "slow": 30, "quantity": 7}
    result = backtest(BUILT_IN["sma_crossover"], market, params, costs=Costs(charges=False))

    for row, symbol in enumerate(market.symbols):
        ours = our_round_trips(result, market, symbol)
        assert len(ours) >= 5, symbol  # enough trades for the comparison to mean something
        assert ours == peer_trades(market, row, 10, 30), symbol
