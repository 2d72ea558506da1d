"""The backtester's core: a strategy's targets filled on the execution model, with Zerodha's charges.

An order decided on bar t (a change in the strategy's target) is a MARKET order that fills on the
instrument's next bar, at its open moved by the slippage and rounded to the tick (the paper
exchange's rule, trading/market/execution.py), never on the bar that produced the signal. A decision
still unfilled when the next one comes (a gap in the instrument's bars) is replaced by it; one made on
the last bar has nothing to fill on. With a volume participation set, a fill takes at most that share
of the bar's volume and the rest fills on the following bars. Charges come from the dated rate table
through the same function the paper exchange's fills use.

Money is kept in whole paise (int64): prices, cash and equity are exact, and turned into Decimal only
for the results.
"""

from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import SimpleNamespace

import numpy as np

from strategies.base import Bars
from trading.market import execution
from trading.models import ChargeRate, Order
from trading.orders.charges import NoChargeRateError, RateTerms, charges_paise, segment_for
from trading.orders.fills import position_apply
from tradingsite.exceptions import ApplicationError

IST_OFFSET = np.timedelta64(330, "m")
SQUAREOFF_MINUTE = 15 * 60 + 20  # 15:20 IST, when MIS positions are squared off (trading.orders.sessions)


@dataclass
class Market:
    """Bars of several instruments on one time axis, prices in paise (0 where a bar is missing)."""

    instrument_ids: tuple[int, ...]
    symbols: tuple[str, ...]
    ts: np.ndarray  # datetime64[us] UTC, increasing
    open: np.ndarray  # int64 paise, (instruments, bars)
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    present: np.ndarray  # bool
    tick_paise: np.ndarray  # int64, (instruments,)
    lot: np.ndarray
    signals: dict[str, np.ndarray] = field(default_factory=dict)  # float, (instruments, bars); NaN: none

    @property
    def count(self) -> int:
        return len(self.ts)

    def between(self, start: int, end: int) -> "Market":
        """Bars [start, end) of this market (its signals too)."""
        cut = slice(start, end)
        prices = {name: getattr(self, name)[:, cut] for name in ("open", "high", "low", "close", "volume", "present")}
        signals = {name: values[:, cut] for name, values in self.signals.items()}
        return replace(self, ts=self.ts[cut], signals=signals, **prices)

    def bars(self) -> Bars:
        paise = {"open": self.open, "high": self.high, "low": self.low, "close": self.close, "volume": self.volume}
        signals = {name: array.copy() for name, array in self.signals.items()}
        return Bars(self.symbols, self.ts.copy(), paise, self.present, signals)

    def digest_parts(self):
        yield repr((self.instrument_ids, self.symbols)).encode()
        for array in (self.ts, self.open, self.high, self.low, self.close, self.volume, self.present):
            yield np.ascontiguousarray(array).tobytes()
        yield self.tick_paise.tobytes() + self.lot.tobytes()
        for name in sorted(self.signals):
            yield name.encode() + np.ascontiguousarray(self.signals[name], dtype=np.float64).tobytes()


@dataclass(frozen=True)
class Costs:
    slippage_bps: Decimal = Decimal("0")
    participation: Decimal = Decimal("0")
    charges: bool = True
    product: str = Order.Product.CNC


@dataclass
class Fills:
    """Every fill of the run, in time order within each instrument."""

    instrument: np.ndarray  # row index into the market
    bar: np.ndarray  # column it filled on
    decided: np.ndarray  # column whose decision it fills
    quantity: np.ndarray  # signed: + buys, - sells
    price: np.ndarray  # paise
    charges: np.ndarray  # paise, total
    parts: dict[str, np.ndarray] = field(default_factory=dict)  # each charge component, paise
    realised: np.ndarray | None = None  # paise, before charges

    def __len__(self):
        return len(self.bar)


@dataclass
class Simulation:
    fills: Fills
    position: np.ndarray  # shares held after each bar, (instruments, bars)
    cash: np.ndarray  # paise after each bar
    equity: np.ndarray  # paise at each bar's close


def next_present(present: np.ndarray) -> np.ndarray:
    """For each (instrument, t) the first column after t with a bar (the bar count if none)."""
    n = present.shape[-1]
    index = np.where(present, np.arange(n), n)
    at_or_after = np.minimum.accumulate(index[..., ::-1], axis=-1)[..., ::-1]
    out = np.full(present.shape, n)
    out[..., :-1] = at_or_after[..., 1:]
    return out


def orders_decided(target: np.ndarray, following: np.ndarray, n: int):
    """The decisions of one instrument that fill: (decided column, fill column, target after)."""
    previous = np.empty_like(target)
    previous[0] = 0
    previous[1:] = target[:-1]
    decided = np.flatnonzero(target != previous)
    fill_at = following[decided]
    superseded = np.zeros(len(decided), dtype=bool)
    superseded[:-1] = decided[1:] < fill_at[:-1]
    kept = ~superseded & (fill_at < n)
    return decided[kept], fill_at[kept], target[decided[kept]]


def fills_planned(market: Market, targets: np.ndarray, costs: Costs) -> Fills:
    n = market.count
    following = next_present(market.present)
    rows, bars, decided_at, quantities = [], [], [], []
    for i in range(len(market.symbols)):
        decided, fill_at, wanted = orders_decided(targets[i], following[i], n)
        if not len(decided):
            continue
        if costs.participation:
            plan = volume_limited(market, i, decided, fill_at, wanted, following[i], costs.participation)
            decided, fill_at, quantity = plan
        else:
            quantity = np.diff(wanted, prepend=0)
            moves = quantity != 0
            decided, fill_at, quantity = decided[moves], fill_at[moves], quantity[moves]
        rows.append(np.full(len(decided), i))
        bars.append(fill_at)
        decided_at.append(decided)
        quantities.append(quantity)

    def joined(parts):
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)

    row, bar, quantity = joined(rows), joined(bars), joined(quantities)
    buying = quantity > 0
    open_paise = market.open[row, bar]
    price = execution.slipped_paise(
        open_paise, buying=buying, slippage_bps=costs.slippage_bps, tick_paise=market.tick_paise[row]
    )
    return Fills(row, bar, joined(decided_at), quantity, price, np.zeros(len(bar), dtype=np.int64))


def volume_limited(market, i, decided, fill_at, wanted, following, participation):
    """Fills when each bar lets at most `participation` of its volume trade: an order keeps filling on
    the following bars until it is done or the next decision replaces it."""
    n = market.count
    lot = int(market.lot[i])
    out_decided, out_bar, out_quantity = [], [], []
    held = 0
    for k, (t, j, want) in enumerate(zip(decided.tolist(), fill_at.tolist(), wanted.tolist(), strict=True)):
        until = int(decided[k + 1]) if k + 1 < len(decided) else n - 1
        while j < n and j <= until and held != want:
            remaining = abs(want - held)
            volume = int(market.volume[i, j])
            # A bar with no volume traded nothing: under a participation limit nothing fills on it
            # (fillable_quantity reads 0 as "not known", as the paper exchange's ticks without volume are).
            quantity = (
                execution.fillable_quantity(remaining=remaining, volume=volume, participation=participation, lot=lot)
                if volume
                else 0
            )
            if quantity:
                signed = quantity if want > held else -quantity
                out_decided.append(t)
                out_bar.append(j)
                out_quantity.append(signed)
                held += signed
            j = int(following[j])
    return np.array(out_decided, dtype=np.int64), np.array(out_bar, dtype=np.int64), np.array(out_quantity)


def fill_dates(market: Market, bars: np.ndarray) -> np.ndarray:
    return (market.ts[bars] + IST_OFFSET).astype("datetime64[D]")


CHARGE_PARTS = ("brokerage", "stt", "exchange_charge", "sebi_fee", "stamp_duty", "gst")


def charge_periods(market: Market, product: str) -> tuple[list[RateTerms], np.ndarray]:
    """The product's segment's charge rates, oldest first, and for each bar the index of the one in
    force on its (IST) date (-1 where none is)."""
    rows = list(ChargeRate.objects.filter(segment=segment_for(product)).order_by("effective_from"))
    starts = np.array([rate.effective_from for rate in rows], dtype="datetime64[D]")
    return [RateTerms.of(rate) for rate in rows], np.searchsorted(
        starts, fill_dates(market, np.arange(market.count)), side="right"
    ) - 1


def no_rate(market: Market, product: str, bar: int) -> NoChargeRateError:
    day = fill_dates(market, np.array([bar]))[0].item()
    return NoChargeRateError(f"no {segment_for(product)} charge rate in force on {day.isoformat()}")


def charges_apply(market: Market, fills: Fills, costs: Costs) -> None:
    """Charges per fill from the rate in force on its (IST) date; partial fills of one order share the
    brokerage cap, as at the broker."""
    names = CHARGE_PARTS
    fills.parts = {name: np.zeros(len(fills), dtype=np.int64) for name in names}
    if not costs.charges or not len(fills):
        return
    rates, by_bar = charge_periods(market, costs.product)
    period = by_bar[fills.bar]
    if (period < 0).any():
        raise no_rate(market, costs.product, int(fills.bar[period < 0][0]))
    turnover = np.abs(fills.quantity) * fills.price
    buying = fills.quantity > 0
    for k in np.unique(period):
        chosen = period == k
        parts = charges_paise(rates[k], buying=buying[chosen], turnover_paise=turnover[chosen])
        for name, values in zip(names, parts, strict=True):
            fills.parts[name][chosen] = values
    if costs.participation:
        cap_shared(fills, rates, period)
    fills.charges = sum(fills.parts.values())


def cap_shared(fills: Fills, rates: list, period: np.ndarray) -> None:
    """Recharge the brokerage (and its GST) of an order's later partial fills under one cap."""
    charged: dict[tuple[int, int], int] = {}
    for k in range(len(fills)):
        key = (int(fills.instrument[k]), int(fills.decided[k]))
        terms = rates[int(period[k])]
        so_far = charged.get(key, 0)
        if so_far:
            parts = charges_paise(
                terms,
                buying=bool(fills.quantity[k] > 0),
                turnover_paise=int(abs(fills.quantity[k]) * fills.price[k]),
                brokerage_so_far_paise=so_far,
            )
            fills.parts["brokerage"][k] = parts[0]
            fills.parts["gst"][k] = parts[5]
        charged[key] = so_far + int(fills.parts["brokerage"][k])


def realised_apply(fills: Fills) -> None:
    """Realised P&L per fill at average cost: the rule the account's positions use (orders.fills).

    Where every fill of an instrument opens from flat, adds to the position or closes it to flat (as
    target strategies trade), the P&L of a closing fill is exactly what its round trip's cash flows sum
    to, computed for all such fills at once; an instrument with a partial close or a reversal goes
    through position_apply fill by fill."""
    realised = np.zeros(len(fills), dtype=np.int64)
    flow = -(fills.quantity * fills.price)
    for i in np.unique(fills.instrument):
        chosen = np.flatnonzero(fills.instrument == i)
        quantity = fills.quantity[chosen]
        after = np.cumsum(quantity)
        before = after - quantity
        adds = (before == 0) | ((np.sign(before) == np.sign(after)) & (np.abs(after) > np.abs(before)))
        closes = after == 0
        if (adds | closes).all():
            trip = np.cumsum(before == 0) - 1
            sums = np.zeros(trip[-1] + 1, dtype=np.int64)
            np.add.at(sums, trip, flow[chosen])
            realised[chosen[closes]] = sums[trip[closes]]
        else:
            realised[chosen] = realised_each(quantity, fills.price[chosen])
    fills.realised = realised


def realised_each(quantity: np.ndarray, price: np.ndarray) -> list[int]:
    book = SimpleNamespace(quantity=0, open_cost=Decimal(0), average_price=Decimal(0), realised_pnl=Decimal(0))
    return [
        int(position_apply(book, signed_quantity=q, price=Decimal(p).scaleb(-2)) * 100)
        for q, p in zip(quantity.tolist(), price.tolist(), strict=True)
    ]


def whole_lots(targets: np.ndarray, lot: np.ndarray) -> np.ndarray:
    """Targets rounded toward zero to each instrument's whole lots (`lot` per row); the live runner
    rounds the same way."""
    lot = np.asarray(lot)[:, None] if np.ndim(targets) == 2 else np.asarray(lot)
    return np.sign(targets) * (np.abs(targets) // lot * lot)


def intraday_closing(ts: np.ndarray, width: np.timedelta64) -> np.ndarray:
    """For bars of `width` starting at `ts` (UTC): True where an MIS target must be flat, because the
    bar after it would be held into the 15:20 IST square-off. A decision is filled on the next bar, so
    a position goes flat on the last bar that starts before 15:20 (its own order, ahead of the
    platform's square-off at 15:20, which then finds nothing to close), and no MIS position is taken
    again until the next session."""
    minutes = ((ts + IST_OFFSET) - (ts + IST_OFFSET).astype("datetime64[D]")).astype("timedelta64[m]")
    return minutes.astype(np.int64) + 2 * int(width / np.timedelta64(1, "m")) >= SQUAREOFF_MINUTE


def bar_width(ts: np.ndarray) -> np.timedelta64:
    steps = np.diff(ts)
    return steps.min() if len(steps) else np.timedelta64(1, "D")


def mis_targets(market: Market, targets: np.ndarray) -> np.ndarray:
    """An intraday (MIS) strategy's targets, flat from each session's square-off to its end."""
    width = bar_width(market.ts)
    if width >= np.timedelta64(1, "D"):
        raise ApplicationError(
            "MIS positions are squared off at 15:20 each session: backtest them on intraday bars (1m to 1h), not daily"
        )
    return np.where(intraday_closing(market.ts, width), 0, targets)


def simulate(market: Market, targets: np.ndarray, *, capital: Decimal, costs: Costs) -> Simulation:
    n = market.count
    if costs.product == Order.Product.MIS:
        targets = mis_targets(market, targets)
    targets = whole_lots(targets, market.lot)
    fills = fills_planned(market, targets, costs)
    charges_apply(market, fills, costs)
    realised_apply(fills)
    position = np.zeros(market.close.shape, dtype=np.int64)
    np.add.at(position, (fills.instrument, fills.bar), fills.quantity)
    np.cumsum(position, axis=1, out=position)
    cash_change = np.zeros(n, dtype=np.int64)
    np.add.at(cash_change, fills.bar, -(fills.quantity * fills.price) - fills.charges)
    cash = int(capital * 100) + np.cumsum(cash_change)
    close = close_carried(market)
    equity = cash + (position * close).sum(axis=0)
    return Simulation(fills, position, cash, equity)


def close_carried(market: Market) -> np.ndarray:
    """Each instrument's last close up to each bar (0 before its first bar)."""
    index = np.where(market.present, np.arange(market.count), 0)
    np.maximum.accumulate(index, axis=1, out=index)
    close = np.take_along_axis(market.close, index, axis=1)
    close[~np.maximum.accumulate(market.present, axis=1)] = 0
    return close
