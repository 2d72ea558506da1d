"""The execution model: at what price, and how much of, an order trades against the market.

Pure functions on plain values, shared by the paper exchange (which sees one traded price at a time)
and the backtester (which sees bars). A price point is a bar whose open, high and low are the same
price, so both apply one rule:

- a MARKET order, or a stop-market once triggered, trades at the open moved against the trader by the
  slippage, rounded to the tick away from the trader;
- a LIMIT order arriving at the market trades at the open if the open is at or better than its price
  (the better price), else at its own price once the bar's range reaches it; a resting one trades at
  its own price when the range reaches it;
- a stop waits for its trigger: triggered at the open if the market opens through it, else at the
  trigger price when the range reaches it; it then meets the market at that point as a new order;
- with a volume participation set, a fill takes at most that share of the bar's volume, in whole lots.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

PAISA = Decimal("0.01")
BPS = Decimal(10_000)


@dataclass(frozen=True)
class Bar:
    open: Decimal
    high: Decimal
    low: Decimal

    @classmethod
    def point(cls, price: Decimal) -> "Bar":
        return cls(price, price, price)


def round_to_tick(price: Decimal, tick: Decimal, *, up: bool) -> Decimal:
    steps = (price / tick).to_integral_value(rounding=ROUND_CEILING if up else ROUND_FLOOR)
    return (steps * tick).quantize(PAISA)


def slipped(price: Decimal, *, buying: bool, slippage_bps: Decimal, tick: Decimal) -> Decimal:
    """The price a market order pays: `price` moved against the trader, rounded to the tick against them."""
    slip = price * slippage_bps / BPS
    return round_to_tick(price + slip if buying else price - slip, tick, up=buying)


def triggered(*, buying: bool, trigger: Decimal, price: Decimal) -> bool:
    return price >= trigger if buying else price <= trigger


def crosses(*, buying: bool, limit: Decimal, price: Decimal) -> bool:
    return price <= limit if buying else price >= limit


def trigger_point(*, buying: bool, trigger: Decimal, bar: Bar) -> Decimal | None:
    """Where in the bar a stop triggers: at the open if it opens through the trigger, at the trigger
    if the range reaches it, else not in this bar."""
    if triggered(buying=buying, trigger=trigger, price=bar.open):
        return bar.open
    reach = bar.high if buying else bar.low
    return trigger if triggered(buying=buying, trigger=trigger, price=reach) else None


def fill_price(
    *,
    buying: bool,
    market: bool,
    limit: Decimal | None,
    bar: Bar,
    arriving: bool,
    slippage_bps: Decimal,
    tick: Decimal,
) -> Decimal | None:
    """The price a live (untriggered stops excluded) order trades at in this bar, or None."""
    if market:
        return slipped(bar.open, buying=buying, slippage_bps=slippage_bps, tick=tick)
    if arriving and crosses(buying=buying, limit=limit, price=bar.open):
        return bar.open
    reach = bar.low if buying else bar.high
    return limit if crosses(buying=buying, limit=limit, price=reach) else None


def fillable_quantity(*, remaining: int, volume: int | None, participation: Decimal, lot: int) -> int:
    """How much of `remaining` one bar (or one trade) of `volume` lets fill, in whole lots."""
    if not participation or not volume:
        return remaining
    allowed = int(volume * participation) // lot * lot
    return min(remaining, max(allowed, 0))


# The same slippage rule on whole paise for many fills at once (a backtest's): int64 arrays of prices
# and ticks in paise, `buying` a bool array. The slippage must be a whole number of hundredths of a
# basis point. tests/strategies/test_execution_model.py checks that it agrees with `slipped` exactly.
SLIP_SCALE = 1_000_000  # 100% in hundredths of a basis point


def slippage_units(slippage_bps: Decimal) -> int:
    units = slippage_bps * 100
    if units != units.to_integral_value() or units < 0:
        raise ValueError(f"slippage {slippage_bps} bps must be a non-negative multiple of 0.01 bps")
    return int(units)


def slipped_paise(price_paise, *, buying, slippage_bps: Decimal, tick_paise):
    return slipped_paise_units(price_paise, buying=buying, units=slippage_units(slippage_bps), tick_paise=tick_paise)


def slipped_paise_units(price_paise, *, buying, units: int, tick_paise):
    """`slipped_paise` with the slippage already in whole 0.01 bps (`slippage_units`), for a caller that
    fills many times at one slippage (the RL environment, every step)."""
    up = price_paise * (SLIP_SCALE + units)
    down = price_paise * (SLIP_SCALE - units)
    scale = tick_paise * SLIP_SCALE
    ceiling = -((-up) // scale)  # integer ceiling division
    floor = down // scale
    return (floor + buying * (ceiling - floor)) * tick_paise
