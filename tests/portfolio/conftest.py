from decimal import Decimal

from tests.trading.conftest import settle
from trading.brokers.paper import paper_tick
from trading.models import Order
from trading.orders.services import order_place


def fill(account, instrument, side, quantity, price, strategy=None, product="MIS"):
    """A market order, filled at `price` (the paper exchange's last price, no slippage)."""
    paper_tick(instrument=instrument, price=Decimal(price))
    order = order_place(
        account=account,
        instrument=instrument,
        transaction_type=side,
        order_type="MARKET",
        product=product,
        quantity=quantity,
        strategy=strategy,
    )
    settle()
    order.refresh_from_db()
    assert order.status == Order.Status.COMPLETE, order.status_message
    return order
