"""The backtester: fills at t+1 on the paper exchange's rules, charges to the paisa, no look-ahead,
deterministic results."""

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from strategies.backtest import backtest
from strategies.base import LookAheadError, Param, Strategy, parameters_validate
from strategies.data import market_build, market_synthetic
from strategies.engine import Costs
from strategies.library import BUILT_IN
from strategies.lookahead import lookahead_analysis
from tradingsite.exceptions import ApplicationError, ValidationError

D = Decimal
pytestmark = pytest.mark.django_db  # charges come from the dated rate table


class Scripted(Strategy):
    """Wants the positions it is given, bar by bar: its decision at t is known at t."""

    def __init__(self, script):
        super().__init__(name="scripted", params={})
        self.script = np.array(script)

    def targets(self, bars, p):
        return self.script[:, : bars.count]


class PeeksTomorrow(Strategy):
    """Buys when tomorrow's close is higher: it reads the bar after the one it decides on."""

    def __init__(self):
        super().__init__(name="peeks_tomorrow", params={"quantity": Param(int, 5, 1, 100)})

    def targets(self, bars, p):
        tomorrow = np.roll(bars.close, -1, axis=1)
        return np.where(tomorrow > bars.close, p["quantity"], 0)


def day(d: int) -> datetime:
    return datetime(2025, 1, d, 3, 45, tzinfo=UTC)  # 09:15 IST


def three_bars():
    return market_build(
        [(1, "INFY", D("0.05"), 1)],
        {
            "INFY": [
                (day(6), "1500.00", "1510.00", "1490.00", "1505.00", 1000),
                (day(7), "1510.00", "1530.00", "1500.00", "1525.00", 1000),
                (day(8), "1520.00", "1525.00", "1512.00", "1518.00", 1000),
            ]
        },
    )


def test_a_three_bar_backtest_fills_at_the_next_open_with_slippage_and_charges_to_the_paisa():
    # Decided on bar 0 (want 10), on bar 1 (want 0): filled at bars 1 and 2, never on the signal's bar.
    result = backtest(Scripted([[10, 0, 0]]), three_bars(), capital=D("100000"), costs=Costs(slippage_bps=D("10")))

    buy, sell = result.trades
    # 1510.00 + 0.10% = 1511.51, rounded up to the tick against the buyer
    assert (buy["side"], buy["quantity"], buy["price"]) == ("BUY", 10, "1511.55")
    assert (buy["decided_at"], buy["filled_at"]) == ("2025-01-06T03:45:00Z", "2025-01-07T03:45:00Z")
    # delivery buy of 15115.50: STT 15.12, NSE 0.45, SEBI 0.02, stamp 2.27, GST 18% of 0.47 = 0.08
    assert [buy[k] for k in ("brokerage", "stt", "exchange_charge", "sebi_fee", "stamp_duty", "gst")] == [
        "0.00",
        "15.12",
        "0.45",
        "0.02",
        "2.27",
        "0.08",
    ]
    assert buy["charges"] == "17.94"
    # 1520.00 - 0.10% = 1518.48, rounded down to the tick against the seller; sale of 15184.50
    assert (sell["side"], sell["price"], sell["filled_at"]) == ("SELL", "1518.45", "2025-01-08T03:45:00Z")
    assert [sell[k] for k in ("stt", "exchange_charge", "sebi_fee", "stamp_duty", "gst")] == [
        "15.18",
        "0.45",
        "0.02",
        "0.00",
        "0.08",
    ]
    assert sell["charges"] == "15.73"
    assert sell["realised_pnl"] == "69.00"  # (1518.45 - 1511.55) x 10

    # Equity at each close: untouched, then 84866.56 cash + 10 x 1525, then all cash.
    assert result.equity == [["2025-01-06", "100000.00"], ["2025-01-07", "100116.56"], ["2025-01-08", "100035.33"]]
    figures = result.figures
    assert (figures["net_pnl"], figures["charges_paid"], figures["realised_pnl"]) == ("35.33", "33.67", "69.00")
    assert (figures["fills"], figures["win_rate"], figures["exposure"]) == (2, "1.000000", "0.333333")


def test_a_decision_on_the_last_bar_has_nothing_to_fill_on():
    result = backtest(Scripted([[0, 0, 10]]), three_bars(), capital=D("100000"))
    assert result.trades == []
    assert result.figures["final_equity"] == "100000.00"


def test_a_strategy_that_reads_a_later_bar_fails_the_run_and_says_where():
    market = market_synthetic(2, 120)
    with pytest.raises(LookAheadError) as caught:
        backtest(PeeksTomorrow(), market)
    assert "reads bars after the one it decides on" in caught.value.message
    assert caught.value.details["differences"][0]["instrument"] in ("SYN001", "SYN002")


def test_the_look_ahead_analysis_flags_a_leaky_strategy_and_passes_the_built_in_ones():
    bars = market_synthetic(3, 300, news=True).bars()
    assert lookahead_analysis(PeeksTomorrow(), bars, {"quantity": 5})
    for strategy in BUILT_IN.values():
        p = parameters_validate(strategy, {})
        assert lookahead_analysis(strategy, bars, p, cuts=12) == [], strategy.name


def test_the_same_run_gives_the_same_result_hash_and_any_change_a_different_one():
    market = market_synthetic(3, 250)
    sma = BUILT_IN["sma_crossover"]
    first = backtest(sma, market, {"fast": 5, "slow": 20}, costs=Costs(slippage_bps=D("5")))
    again = backtest(sma, market_synthetic(3, 250), {"fast": 5, "slow": 20}, costs=Costs(slippage_bps=D("5")))
    assert first.trades and first.result_hash == again.result_hash
    assert first.figures == again.figures

    other_params = backtest(sma, market, {"fast": 6, "slow": 20}, costs=Costs(slippage_bps=D("5")))
    other_costs = backtest(sma, market, {"fast": 5, "slow": 20}, costs=Costs(slippage_bps=D("6")))
    other_data = backtest(
        sma, market_synthetic(3, 250, seed=8), {"fast": 5, "slow": 20}, costs=Costs(slippage_bps=D("5"))
    )
    assert len({first.result_hash, other_params.result_hash, other_costs.result_hash, other_data.result_hash}) == 4


def test_parameters_are_checked_against_the_strategy_schema_with_each_problem_named():
    sma = BUILT_IN["sma_crossover"]
    assert parameters_validate(sma, {"fast": 5}) == {"fast": 5, "slow": 30, "quantity": 1}
    with pytest.raises(ValidationError) as caught:
        parameters_validate(sma, {"fast": 0, "slow": "thirty", "window": 3})
    fields = caught.value.details["fields"]
    assert set(fields) == {"fast", "slow", "window"}
    assert "between 1 and 1000" in fields["fast"] and "has no parameter 'window'" in fields["window"]
    with pytest.raises(ValidationError, match=r"fast \(30\) must be shorter than slow \(10\)"):
        parameters_validate(sma, {"fast": 30, "slow": 10})


def test_equity_is_cash_plus_positions_at_the_close_and_ends_at_capital_plus_net_pnl():
    market = market_synthetic(4, 400)
    result = backtest(BUILT_IN["breakout"], market, {"quantity": 10}, costs=Costs(slippage_bps=D("3")))
    bought = sum(D(t["price"]) * t["quantity"] for t in result.trades if t["side"] == "BUY")
    sold = sum(D(t["price"]) * t["quantity"] for t in result.trades if t["side"] == "SELL")
    charges = sum(D(t["charges"]) for t in result.trades)
    held = {}
    for t in result.trades:
        held[t["symbol"]] = held.get(t["symbol"], 0) + (t["quantity"] if t["side"] == "BUY" else -t["quantity"])
    last_close = {s: D(int(market.close[i, -1])).scaleb(-2) for i, s in enumerate(market.symbols)}
    expected = D("1000000") - bought + sold - charges + sum(q * last_close[s] for s, q in held.items())
    assert D(result.figures["final_equity"]) == expected
    assert D(result.figures["charges_paid"]) == charges


def test_volume_limits_split_a_fill_over_the_following_bars():
    # 40% of 1000 shares a bar: a 1000-share order fills 400, 400, 200 on the three bars after it.
    rows = [(day(d), "100.00", "101.00", "99.00", "100.00", 1000) for d in (6, 7, 8, 9)]
    market = market_build([(1, "INFY", D("0.05"), 1)], {"INFY": rows})
    result = backtest(Scripted([[1000, 1000, 1000, 1000]]), market, costs=Costs(participation=D("0.4")))
    assert [(t["quantity"], t["filled_at"][:10]) for t in result.trades] == [
        (400, "2025-01-07"),
        (400, "2025-01-08"),
        (200, "2025-01-09"),
    ]
    # One order: delivery has no brokerage, so each part pays only its own turnover's charges.
    assert all(t["brokerage"] == "0.00" for t in result.trades)


def test_bars_that_are_not_on_the_tick_or_inconsistent_are_refused_by_name():
    with pytest.raises(ValidationError, match="INFY: price 100.03 is not a multiple of the tick"):
        market_build([(1, "INFY", D("0.05"), 1)], {"INFY": [(day(6), "100.03", "101", "99", "100", 1)]})
    with pytest.raises(ValidationError, match="high and low do not contain open and close"):
        market_build([(1, "INFY", D("0.05"), 1)], {"INFY": [(day(6), "100", "99", "98", "100", 1)]})


def test_an_instrument_whose_bars_start_later_trades_as_it_would_alone():
    early = market_synthetic(1, 300, seed=3)
    late = market_synthetic(1, 300, seed=4)
    rows = {
        "EARLY": [
            (
                early.ts[t].item().replace(tzinfo=UTC),
                *(D(int(a[0, t])) / 100 for a in (early.open, early.high, early.low, early.close)),
                1000,
            )
            for t in range(300)
        ],
        "LATE": [
            (
                late.ts[t].item().replace(tzinfo=UTC),
                *(D(int(a[0, t])) / 100 for a in (late.open, late.high, late.low, late.close)),
                1000,
            )
            for t in range(20, 300)
        ],
    }
    both = market_build([(1, "EARLY", D("0.05"), 1), (2, "LATE", D("0.05"), 1)], rows)
    alone = market_build([(2, "LATE", D("0.05"), 1)], {"LATE": rows["LATE"]})
    sma = BUILT_IN["sma_crossover"]
    together = [t for t in backtest(sma, both, {"fast": 5, "slow": 20}).trades if t["symbol"] == "LATE"]
    by_itself = backtest(sma, alone, {"fast": 5, "slow": 20}).trades
    assert together and [(t["filled_at"], t["price"]) for t in together] == [
        (t["filled_at"], t["price"]) for t in by_itself
    ]


def test_a_parameter_that_is_not_a_finite_number_is_refused():
    with pytest.raises(ValidationError, match="fast must be a number, not inf"):
        parameters_validate(BUILT_IN["sma_crossover"], {"fast": float("inf")})


def test_an_intraday_strategy_goes_flat_before_the_1520_square_off_and_holds_nothing_overnight():
    # given two sessions of minute bars and a strategy that always wants 10 shares
    market = market_synthetic(1, 2, minute=True)
    always = Scripted(np.full((1, market.count), 10))

    mis = backtest(always, market, costs=Costs(charges=False, product="MIS")).trades
    cnc = backtest(always, market, costs=Costs(charges=False, product="CNC")).trades

    # then: bought on the first session's second bar, sold at the open of the 15:19 bar (09:49 UTC), ahead
    # of the 15:20 square-off, bought again on the next morning's second bar, sold again at 15:19; CNC holds
    fills = [(t["side"], t["quantity"], t["filled_at"][:16]) for t in mis]
    first, second = market.ts[0].astype(str)[:10], market.ts[-1].astype(str)[:10]
    assert fills == [
        ("BUY", 10, f"{first}T03:46"),
        ("SELL", 10, f"{first}T09:49"),
        ("BUY", 10, f"{second}T03:46"),
        ("SELL", 10, f"{second}T09:49"),
    ]
    sold = mis[1]
    at = int(np.flatnonzero(market.ts == np.datetime64(sold["filled_at"].rstrip("Z")))[0])
    assert D(sold["price"]) == D(int(market.open[0, at])) / 100
    assert [(t["side"], t["quantity"]) for t in cnc] == [("BUY", 10)]


def test_an_intraday_backtest_on_daily_bars_is_refused_with_the_reason():
    with pytest.raises(ApplicationError, match="squared off at 15:20 each session"):
        backtest(Scripted([[10, 0, 0]]), three_bars(), costs=Costs(product="MIS"))
