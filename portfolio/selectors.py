"""Reads over positions and fills: P&L, exposure, funds, performance."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When

from portfolio.models import PnlDaily
from trading.market.prices import price_last
from trading.models import LedgerCross, Order, Position, Strategy, StrategyPosition, Trade, TradingAccount
from trading.orders.book import AccountBook, account_book
from trading.orders.selectors import position_last_fill
from tradingsite.ist import ist_day_start

ZERO = Decimal("0")


@dataclass(frozen=True)
class PositionView:
    position: Position
    last_price: Decimal | None
    unrealised_pnl: Decimal
    market_value: Decimal


def position_view(position: Position) -> PositionView:
    last = price_last(position.instrument)
    return position_marked(
        position, last=last, fallback=position.average_price if last is not None else mark_fallback(position)
    )


def mark_fallback(position: Position) -> Decimal:
    """What a position and its sub-ledgers are marked at where no last price is known: the position's
    last fill, a price the market traded at, the same for every sub-ledger (their own averages would
    split the P&L by no common price); the average price where it has no fill."""
    last_fill = position_last_fill(position)
    return last_fill if last_fill is not None else position.average_price


def position_marked(position, *, last: Decimal | None, fallback: Decimal) -> PositionView:
    """A position or a sub-ledger marked at the last price, or at `fallback` where there is none (see
    `mark_fallback`: sub-ledgers marked alike sum to their position).
    Unrealised P&L is quantity x mark - open cost: at quantity 0 what opposite sub-ledgers locked in."""
    mark = last if last is not None else fallback
    unrealised = position.quantity * mark - position.open_cost
    return PositionView(position, last, unrealised.quantize(Decimal("0.01")), mark * position.quantity)


def positions_for_account(account: TradingAccount, *, open_only: bool = False) -> list[PositionView]:
    positions = (
        Position.objects.filter(account=account).select_related("instrument").order_by("instrument_id", "product")
    )
    if open_only:
        positions = positions.exclude(quantity=0)
    return [position_view(position) for position in positions]


def pnl_day(account: TradingAccount, *, at: datetime | None = None) -> dict[str, Decimal]:
    """Today's (IST) realised P&L and charges, plus unrealised P&L on open positions at the last price."""
    return day_pnl_of(account_book(account, at=at), positions_for_account(account))


def day_pnl_of(book: AccountBook, views: list[PositionView]) -> dict[str, Decimal]:
    """The day's P&L: today's realised P&L and charges from the book, the open positions' unrealised P&L
    from `views`, the positions as the net P&L marks them.

    Not the book's own unrealised P&L: the book marks at the database's last prices, which the feed
    writes once per flush, while the views mark at `price_last` (Redis, written on every tick). Taken
    from the two, the day's and the net P&L of an account on its first day differed by each open
    position's quantity times the price move since the last flush."""
    unrealised = pnl_totals(views)["unrealised"]
    values = {
        "realised": book.realised_today,
        "unrealised": unrealised,
        "charges": book.charges_today,
        "total": book.realised_today + unrealised - book.charges_today,
    }
    return {name: value.quantize(Decimal("0.01")) for name, value in values.items()}


def equity_of(cash: Decimal, views: list[PositionView]) -> Decimal:
    """Cash plus the open positions marked: a delivery holding at its market value (its cost left the
    cash), an intraday position at its unrealised P&L (only that settles into cash)."""
    held = sum(
        (view.market_value if view.position.product == Order.Product.CNC else view.unrealised_pnl for view in views),
        ZERO,
    )
    return (cash + held).quantize(Decimal("0.01"))


def performance(account: TradingAccount) -> dict:
    """Win rate over fills that closed quantity, and fill rate: the shares filled of those ordered in the
    orders that reached the market (rejected ones never did)."""
    closing = Trade.objects.filter(account=account).exclude(realised_pnl=0)
    wins = closing.filter(realised_pnl__gt=0).count()
    total_closing = closing.count()
    reached = Order.objects.filter(account=account).exclude(status=Order.Status.REJECTED)
    totals = reached.aggregate(ordered=Sum("quantity"), filled=Sum("filled_quantity"))
    return {
        "win_rate": (Decimal(wins) / total_closing).quantize(Decimal("0.0001")) if total_closing else None,
        "fill_rate": (Decimal(totals["filled"] or 0) / totals["ordered"]).quantize(Decimal("0.0001"))
        if totals["ordered"]
        else None,
        "closing_trades": total_closing,
        # The fill rate is by shares; the caption shows both counts, so the two never seem to disagree.
        "filled_quantity": totals["filled"] or 0,
        "ordered_quantity": totals["ordered"] or 0,
        "orders": reached.count(),
        "rejected_orders": Order.objects.filter(account=account, status=Order.Status.REJECTED).count(),
        "filled_orders": reached.filter(Q(filled_quantity__gt=0)).count(),
    }


def pnl_totals(views: list[PositionView]) -> dict[str, Decimal]:
    """Realised and unrealised P&L, charges and net P&L summed over positions or sub-ledgers."""
    realised = sum((view.position.realised_pnl for view in views), ZERO)
    unrealised = sum((view.unrealised_pnl for view in views), ZERO)
    charges = sum((view.position.charges for view in views), ZERO)
    return {"realised": realised, "unrealised": unrealised, "charges": charges, "net": realised + unrealised - charges}


def portfolio_summary(account: TradingAccount, *, views: list[PositionView] | None = None) -> dict:
    """The account's cash, funds, day and net P&L and performance. `views`, where the caller has marked
    the positions already (`ledgers_for_account`), are used as they are, so that every figure on a page
    comes from one read of the prices."""
    views = positions_for_account(account) if views is None else views
    totals = pnl_totals(views)
    realised, unrealised, charges = totals["realised"], totals["unrealised"], totals["charges"]
    book = account_book(account)
    blocked = book.funds_blocked()
    return {
        "account": account.pk,
        "cash": str(account.cash),
        "funds_blocked": str(blocked),
        # What new orders may still use: cash less the margin and the cost of orders it already holds.
        "funds_available": str(account.cash - blocked),
        "status": account.status,
        "day_pnl": {name: str(value) for name, value in day_pnl_of(book, views).items()},
        "realised_pnl": str(realised),
        "unrealised_pnl": str(unrealised),
        "charges": str(charges),
        "net_pnl": str(realised + unrealised - charges),
        "holdings": [
            {
                "tradingsymbol": view.position.instrument.tradingsymbol,
                "quantity": view.position.quantity,
                "average_price": str(view.position.average_price),
            }
            for view in views
            if view.position.product == Order.Product.CNC and view.position.quantity > 0
        ],
        "performance": {
            key: (str(value) if isinstance(value, Decimal) else value) for key, value in performance(account).items()
        },
    }


def pnl_history(account: TradingAccount, *, days: int = 90):
    """The account's kept daily P&L, newest first."""
    return PnlDaily.objects.filter(account=account).order_by("-date")[:days]


def traded_value_by_symbol(account: TradingAccount, *, views: list[PositionView], limit: int = 10) -> list[dict]:
    """Turnover per instrument (price × quantity over every fill), largest first, with the instrument's
    net P&L over its products from `views` (the positions as marked for the rest of the page)."""
    rows = (
        Trade.objects.filter(account=account)
        .values("instrument_id", "exchange", "tradingsymbol")
        .annotate(value=Sum(F("price") * F("quantity"), output_field=DecimalField()), fills=Count("pk"))
        .order_by("-value", "tradingsymbol")[:limit]
    )
    net: dict[int, Decimal] = {}
    for view in views:
        net[view.position.instrument_id] = net.get(view.position.instrument_id, ZERO) + pnl_totals([view])["net"]
    return [
        {**row, "value": row["value"].quantize(Decimal("0.01")), "net": net.get(row["instrument_id"], ZERO)}
        for row in rows
    ]


def slippage(account: TradingAccount) -> dict:
    """How fills compare with the last price when their order was placed (its arrival price).

    Positive is a cost: a buy filled above, or a sell below, the arrival price. In rupees, and in
    basis points of the arrival value, over the fills whose order had an arrival price.
    """
    sign = Case(When(transaction_type=Order.TransactionType.BUY, then=Value(1)), default=Value(-1))
    totals = Trade.objects.filter(account=account, order__arrival_price__isnull=False).aggregate(
        cost=Sum(sign * (F("price") - F("order__arrival_price")) * F("quantity"), output_field=DecimalField()),
        arrival_value=Sum(F("order__arrival_price") * F("quantity"), output_field=DecimalField()),
        fills=Count("pk"),
    )
    cost, value = totals["cost"] or ZERO, totals["arrival_value"] or ZERO
    return {
        "rupees": cost.quantize(Decimal("0.01")),
        "bps": (cost / value * 10000).quantize(Decimal("0.01")) if value else None,
        "fills": totals["fills"],
    }


@dataclass(frozen=True)
class Ledger:
    """One strategy's sub-ledgers in an account (strategy None: the orders placed by hand), with totals."""

    strategy: Strategy | None
    views: list[PositionView]
    fills: int

    @property
    def name(self) -> str:
        return self.strategy.name if self.strategy is not None else "Manual"

    @property
    def totals(self) -> dict[str, Decimal]:
        return pnl_totals(self.views)

    @property
    def open_positions(self) -> int:
        return sum(1 for view in self.views if view.position.quantity)


def ledgers_for_account(account: TradingAccount) -> tuple[list[Ledger], list[PositionView]]:
    """The account's sub-ledgers grouped by strategy, and its positions, marked at one price per
    instrument, so that each figure of the positions is the exact sum of the sub-ledgers' (a position
    without a last price, and its sub-ledgers, at its last fill).
    Manual first, then strategies by name."""
    positions = list(Position.objects.filter(account=account).select_related("instrument"))
    lasts = {p.instrument_id: price_last(p.instrument) for p in positions}
    fallback = {
        (p.instrument_id, p.product): mark_fallback(p) if lasts[p.instrument_id] is None else p.average_price
        for p in positions
    }
    position_views = [
        position_marked(p, last=lasts[p.instrument_id], fallback=fallback[(p.instrument_id, p.product)])
        for p in sorted(positions, key=lambda p: (p.instrument_id, p.product))
    ]
    fills = dict(
        Trade.objects.filter(account=account).values_list("order__strategy_id").annotate(n=Count("pk")).order_by()
    )
    grouped: dict[int | None, list] = {}
    rows = StrategyPosition.objects.filter(account=account).select_related("instrument", "strategy")
    for row in rows.order_by("instrument_id", "product"):
        grouped.setdefault(row.strategy_id, []).append(row)
    ledgers = []
    for strategy_id, rows in grouped.items():
        views = [
            position_marked(
                row,
                last=lasts.get(row.instrument_id),
                fallback=fallback.get((row.instrument_id, row.product), row.average_price),
            )
            for row in rows
        ]
        ledgers.append(Ledger(strategy=rows[0].strategy, views=views, fills=fills.get(strategy_id, 0)))
    ledgers.sort(key=lambda ledger: (ledger.strategy is not None, ledger.name))
    return ledgers, position_views


def crosses_for_account(account: TradingAccount, *, limit: int = 100) -> list[LedgerCross]:
    crosses = LedgerCross.objects.filter(account=account).select_related("instrument", "seller", "buyer")
    return list(crosses.order_by("-crossed_at", "-pk")[:limit])


def pnl_trend(account: TradingAccount, *, today_total: Decimal, today_equity: Decimal, days: int = 365) -> list[dict]:
    """Day by day, oldest first: the day's total P&L, the equity at its end and the drawdown, the fall
    of the equity from its running peak as a fraction of the peak (0 at a new peak, -0.05 five percent
    below it). The kept days (PnlDaily), then today's as it stands (`today_total` and `today_equity`,
    from the caller's own reads, so that today agrees with the rest of its page).

    A day kept before its equity was (no `equity`) counts its cash and unrealised P&L: exact unless
    delivery holdings were carried over that day's end."""
    today = ist_day_start().date()
    kept = PnlDaily.objects.filter(account=account, date__lt=today).order_by("-date")[: days - 1]
    days_kept = [
        (row.date, row.total, row.equity if row.equity is not None else row.cash + row.unrealised)
        for row in reversed(kept)
    ]
    trend, peak = [], None
    for date, total, equity in [*days_kept, (today, today_total, today_equity)]:
        peak = equity if peak is None else max(peak, equity)
        drawdown = None
        if peak > 0:  # no sign on a zero: -0.0000 is a fall too small to show, not below the peak
            drawdown = (equity / peak - 1).quantize(Decimal("0.0001")) or Decimal("0.0000")
        trend.append({"date": date, "total": total, "equity": equity, "drawdown": drawdown})
    return trend


def max_drawdown(trend: list[dict]) -> Decimal | None:
    """The deepest drawdown over `pnl_trend`'s days (a fraction, not above 0), None where none is known."""
    return min((day["drawdown"] for day in trend if day["drawdown"] is not None), default=None)
