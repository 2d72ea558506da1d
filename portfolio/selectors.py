"""Reads over positions and fills: P&L, exposure, funds, performance."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q, Sum
from django.utils import timezone

from trading.models import Instrument, Order, Position, Trade, TradingAccount
from trading.prices import price_last

IST = ZoneInfo("Asia/Kolkata")
ZERO = Decimal("0")


def ist_day_start(at: datetime | None = None) -> datetime:
    local = (at or timezone.now()).astimezone(IST)
    return datetime.combine(local.date(), time.min, tzinfo=IST)


@dataclass(frozen=True)
class PositionView:
    position: Position
    last_price: Decimal | None
    unrealised_pnl: Decimal
    market_value: Decimal


def position_view(position: Position) -> PositionView:
    last = price_last(position.instrument)
    mark = last if last is not None else position.average_price
    unrealised = (mark - position.average_price) * position.quantity if position.quantity else ZERO
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
    start = ist_day_start(at)
    today = Trade.objects.filter(account=account, fill_timestamp__gte=start, fill_timestamp__lt=start + timedelta(1))
    sums = today.aggregate(realised=Sum("realised_pnl"), charges=Sum("total_charges"))
    realised, charges = sums["realised"] or ZERO, sums["charges"] or ZERO
    unrealised = sum((view.unrealised_pnl for view in positions_for_account(account, open_only=True)), ZERO)
    return {
        "realised": realised,
        "unrealised": unrealised,
        "charges": charges,
        "total": realised + unrealised - charges,
    }


def live_orders(account: TradingAccount, *, excluding: Order | None = None):
    orders = Order.objects.filter(account=account, status__in=Order.LIVE).select_related("instrument")
    if excluding is not None:
        orders = orders.exclude(pk=excluding.pk)
    return orders


@dataclass
class InstrumentExposure:
    quantity: int = 0  # net position across products
    pending_buy: int = 0
    pending_sell: int = 0

    def worst_case(self) -> int:
        return max(abs(self.quantity + self.pending_buy), abs(self.quantity - self.pending_sell))


def exposure_by_instrument(account: TradingAccount, *, excluding: Order | None = None) -> dict[int, InstrumentExposure]:
    exposures: dict[int, InstrumentExposure] = defaultdict(InstrumentExposure)
    for instrument_id, quantity in (
        Position.objects.filter(account=account).exclude(quantity=0).values_list("instrument_id", "quantity")
    ):
        exposures[instrument_id].quantity += quantity
    for order in live_orders(account, excluding=excluding):
        pending = order.quantity - order.filled_quantity
        if order.transaction_type == Order.TransactionType.BUY:
            exposures[order.instrument_id].pending_buy += pending
        else:
            exposures[order.instrument_id].pending_sell += pending
    return exposures


def instrument_marks(instrument_ids) -> dict[int, Decimal]:
    marks = {}
    for instrument in Instrument.objects.filter(pk__in=list(instrument_ids)):
        marks[instrument.pk] = price_last(instrument) or ZERO
    return marks


def order_reference_price(order: Order, last_price: Decimal | None) -> Decimal:
    if order.order_type in (Order.OrderType.LIMIT, Order.OrderType.SL) and order.price:
        return order.price
    if order.trigger_price and order.order_type == Order.OrderType.SLM:
        return order.trigger_price
    return last_price or ZERO


def funds_blocked(account: TradingAccount, *, excluding: Order | None = None) -> Decimal:
    """Margin held by open MIS positions and by live orders that may still fill."""
    leverage = account.mis_leverage
    blocked = ZERO
    for position in Position.objects.filter(account=account, product=Order.Product.MIS).exclude(quantity=0):
        blocked += abs(position.quantity) * position.average_price / leverage
    for order in live_orders(account, excluding=excluding):
        pending = order.quantity - order.filled_quantity
        value = pending * order_reference_price(order, price_last(order.instrument))
        if order.product == Order.Product.MIS:
            blocked += value / leverage
        elif order.transaction_type == Order.TransactionType.BUY:
            blocked += value
    return blocked.quantize(Decimal("0.01"))


def cnc_sellable(account: TradingAccount, instrument: Instrument, *, excluding: Order | None = None) -> int:
    held = (
        Position.objects.filter(account=account, instrument=instrument, product=Order.Product.CNC)
        .values_list("quantity", flat=True)
        .first()
    ) or 0
    selling = sum(
        order.quantity - order.filled_quantity
        for order in live_orders(account, excluding=excluding).filter(
            instrument=instrument, product=Order.Product.CNC, transaction_type=Order.TransactionType.SELL
        )
    )
    return held - selling


def performance(account: TradingAccount) -> dict:
    """Win rate over fills that closed quantity, and fill rate over orders that reached the market."""
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
        "orders": reached.count(),
        "rejected_orders": Order.objects.filter(account=account, status=Order.Status.REJECTED).count(),
        "filled_orders": reached.filter(Q(filled_quantity__gt=0)).count(),
    }


def portfolio_summary(account: TradingAccount) -> dict:
    views = positions_for_account(account)
    realised = sum((view.position.realised_pnl for view in views), ZERO)
    unrealised = sum((view.unrealised_pnl for view in views), ZERO)
    charges = sum((view.position.charges for view in views), ZERO)
    day = pnl_day(account)
    return {
        "account": account.pk,
        "cash": str(account.cash),
        "funds_blocked": str(funds_blocked(account)),
        "status": account.status,
        "day_pnl": {name: str(value) for name, value in day.items()},
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
    from .models import PnlDaily

    return PnlDaily.objects.filter(account=account).order_by("-date")[:days]
