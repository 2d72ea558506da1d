"""The NSE session's edges for the paper exchange: MIS square-off at 15:20 IST, DAY expiry at 15:30 IST."""

from .models import Order, Position, TradingAccount
from .services import order_cancel, order_place

SQUAREOFF_TAG = "squareoff"


def day_orders_expire() -> int:
    """Cancel every live DAY order on paper accounts at the close."""
    live = Order.objects.filter(
        status__in=Order.LIVE, validity=Order.Validity.DAY, account__broker=TradingAccount.Broker.PAPER
    )
    count = 0
    for order in live.order_by("pk"):
        order_cancel(order=order, cancelled_by="system:session_close", reason="DAY order expired at market close")
        count += 1
    return count


def mis_squareoff() -> list[Order]:
    """Cancel live MIS orders, then close every open MIS position with a MARKET order, as Zerodha does."""
    placed = []
    for order in Order.objects.filter(status__in=Order.LIVE, product=Order.Product.MIS).order_by("pk"):
        order_cancel(order=order, cancelled_by="system:squareoff", reason="MIS square-off")
    positions = Position.objects.filter(product=Order.Product.MIS, account__broker=TradingAccount.Broker.PAPER)
    for position in positions.exclude(quantity=0).select_related("account", "instrument"):
        placed.append(
            order_place(
                account=position.account,
                instrument=position.instrument,
                transaction_type=Order.TransactionType.SELL if position.quantity > 0 else Order.TransactionType.BUY,
                order_type=Order.OrderType.MARKET,
                product=Order.Product.MIS,
                quantity=abs(position.quantity),
                tag=SQUAREOFF_TAG,
                placed_by="system:squareoff",
                squareoff=True,
            )
        )
    return placed
