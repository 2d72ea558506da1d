"""The backtester's whole-array forms of the execution model agree with the paper exchange's, exactly."""

from decimal import Decimal

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from trading.market import execution
from trading.orders.charge_rates import SEGMENTS
from trading.orders.charges import RATE_SCALE, RateTerms, charges_paise

D = Decimal
ticks = st.sampled_from([1, 5, 10, 100])
prices = st.integers(min_value=1, max_value=10_000_000)  # paise: up to Rs 1 lakh
slippages = st.integers(min_value=0, max_value=10_000).map(lambda units: D(units) / 100)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(prices, st.booleans()), min_size=1, max_size=20), slippages, ticks)
def test_slippage_on_paise_arrays_matches_the_paper_exchanges_rule(orders, slippage_bps, tick):
    paise = np.array([p for p, _ in orders], dtype=np.int64)
    buying = np.array([b for _, b in orders])
    got = execution.slipped_paise(paise, buying=buying, slippage_bps=slippage_bps, tick_paise=tick)
    want = [
        execution.slipped(D(p).scaleb(-2), buying=b, slippage_bps=slippage_bps, tick=D(tick).scaleb(-2))
        for p, b in orders
    ]
    assert [D(int(x)).scaleb(-2) for x in got] == want


def terms(segment: str) -> RateTerms:
    rates = SEGMENTS[segment]
    scaled = {name: int(rates[f"{name}_rate"] * RATE_SCALE) for name in ("brokerage", "stt_buy", "stt_sell")}
    return RateTerms(
        brokerage=scaled["brokerage"],
        brokerage_cap_paise=None if rates["brokerage_cap"] is None else int(rates["brokerage_cap"] * 100),
        stt_buy=scaled["stt_buy"],
        stt_sell=scaled["stt_sell"],
        exchange=int(D("0.0000297") * RATE_SCALE),
        sebi=int(D("0.000001") * RATE_SCALE),
        stamp_buy=int(rates["stamp_buy_rate"] * RATE_SCALE),
        gst=int(D("0.18") * RATE_SCALE),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 10**11), st.booleans()), min_size=1, max_size=20),
    st.sampled_from(list(SEGMENTS)),
)
def test_charges_on_arrays_match_each_fill_charged_alone_and_decimal_rounding(fills, segment):
    t = terms(segment)
    turnover = np.array([x for x, _ in fills], dtype=np.int64)
    buying = np.array([b for _, b in fills])
    together = charges_paise(t, buying=buying, turnover_paise=turnover)
    for k, (x, b) in enumerate(fills):
        alone = charges_paise(t, buying=b, turnover_paise=x)
        assert [int(part[k]) for part in together] == [int(part) for part in alone]
        # STT as Decimal rounds it: the turnover in rupees times the rate, half-up to the paisa
        rate = SEGMENTS[segment]["stt_buy_rate" if b else "stt_sell_rate"]
        stt = (D(x).scaleb(-2) * rate).quantize(D("0.01"), rounding="ROUND_HALF_UP")
        assert D(int(alone[1])).scaleb(-2) == stt
