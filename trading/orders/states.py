"""The order state machine: which status may follow which, and the one way a status changes."""

from trading.models import Order
from trading.realtime import streams
from tradingsite.exceptions import ConflictError
from tradingsite.rows import row_update

Status = Order.Status

# The state machine, as Kite's orders move: from each status, the statuses an order may move to. Kite's
# risk check can reject an order after answering with its id, so REJECTED follows OPEN and TRIGGER
# PENDING too; a cancel or modification waiting for the broker is `pending_request`, not a status.
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.RECEIVED: frozenset(
        {Status.OPEN, Status.TRIGGER_PENDING, Status.COMPLETE, Status.CANCELLED, Status.REJECTED}
    ),
    Status.TRIGGER_PENDING: frozenset({Status.OPEN, Status.COMPLETE, Status.CANCELLED, Status.REJECTED}),
    Status.OPEN: frozenset({Status.OPEN, Status.COMPLETE, Status.CANCELLED, Status.REJECTED}),
    Status.COMPLETE: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.REJECTED: frozenset(),
}


class IllegalTransition(ConflictError):
    code = "illegal_transition"


def order_snapshot(order: Order) -> dict:
    return {
        "account": order.account_id,
        "symbol": f"{order.exchange}:{order.tradingsymbol}",
        "transaction_type": order.transaction_type,
        "order_type": order.order_type,
        "product": order.product,
        "validity": order.validity,
        "quantity": order.quantity,
        "price": order.price,
        "trigger_price": order.trigger_price,
        "status": order.status,
        "filled_quantity": order.filled_quantity,
        "tag": order.tag,
        "strategy": order.strategy_id,
    }


def status_set(order: Order, new_status: str, **fields) -> None:
    """Move a locked order to a new status if the state machine allows it, with a conditional UPDATE."""
    if new_status not in TRANSITIONS[order.status]:
        raise IllegalTransition(f"order {order.pk} cannot go from {order.status} to {new_status}")
    if new_status not in Order.LIVE:  # nothing stays pending on a finished order
        fields.setdefault("pending_request", "")
        fields.setdefault("pending_terms", {})
    names = ("status", "updated_at", *fields)
    before = {name: getattr(order, name) for name in names}
    order.status = new_status
    for name, value in fields.items():
        setattr(order, name, value)
    if row_update(order, names, "status = %s", [before["status"]]) != 1:  # updated_at: auto_now
        for name, value in before.items():
            setattr(order, name, value)
        raise IllegalTransition(f"order {order.pk} changed status under us (expected {order.status})")
    streams.order_event(order)
