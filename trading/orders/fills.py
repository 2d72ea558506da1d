"""Fills: each broker trade booked once, with its charges, into the order, the position and the cash."""

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from audit.services import audit_record
from trading.models import Order, Trade, TradingAccount
from trading.orders import locks
from trading.orders.charges import charges_for_fill
from trading.orders.states import IllegalTransition, status_set
from trading.realtime import streams
from tradingsite.exceptions import ValidationError
from tradingsite.rows import row_insert, row_update

ZERO = Decimal("0")
PAISA = Decimal("0.01")
Status = Order.Status
# What a fill changes on its position (and updated_at, set as save() sets it).
POSITION_FIELDS = (
    "quantity",
    "average_price",
    "open_cost",
    "realised_pnl",
    "buy_quantity",
    "buy_value",
    "sell_quantity",
    "sell_value",
    "charges",
    "updated_at",
)
CASH_SQL = f"UPDATE {TradingAccount._meta.db_table} SET cash = cash + %s, updated_at = %s WHERE id = %s"


def position_apply(position, *, signed_quantity: int, price: Decimal) -> Decimal:
    """Apply a fill to a position at average cost; return the P&L it realised (before charges)."""
    held = position.quantity
    realised = ZERO
    if held == 0 or (held > 0) == (signed_quantity > 0):
        position.open_cost = position.open_cost + abs(signed_quantity) * price
    else:
        closing = min(abs(signed_quantity), abs(held))
        if closing == abs(held):
            cost_closed = position.open_cost
        else:
            cost_closed = (position.open_cost * closing / abs(held)).quantize(PAISA, rounding=ROUND_HALF_UP)
        proceeds = closing * price
        realised = proceeds - cost_closed if held > 0 else cost_closed - proceeds
        position.open_cost -= cost_closed
        opening = abs(signed_quantity) - closing
        if opening:  # the fill reversed the position: the rest opens at this price
            position.open_cost = opening * price
    position.quantity = held + signed_quantity
    position.average_price = (
        (position.open_cost / abs(position.quantity)).quantize(Decimal("0.0001")) if position.quantity else ZERO
    )
    position.realised_pnl += realised
    return realised


def fill_apply(
    *, order: Order, quantity: int, price: Decimal, at: datetime | None = None, trade_id: str = ""
) -> Trade | None:
    """Book a fill: the trade with its charges, the order, the position and the cash, in one transaction.

    The one fill service for every broker and path. `trade_id` is the broker's own id of the trade (a
    Kite trade record): a trade already booked under it is not booked again (None is returned), which
    is decided here under the order's lock, so two paths reporting one trade at the same moment book it
    once. A broker's trade on an order that is no longer live here is still booked: it happened.
    """
    at = at or timezone.now()
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        position = locks.position_lock(account=account, instrument=order.instrument, product=order.product)
        order = locks.order_lock(order.pk, account=account)
        if trade_id and Trade.objects.filter(order=order, trade_id=trade_id).exists():
            return None
        if not order.is_live and not trade_id:
            raise IllegalTransition(f"order {order.pk} is {order.status}; a fill cannot be booked on it")
        remaining = order.quantity - order.filled_quantity
        if not 0 < quantity <= remaining:
            raise ValidationError(f"fill of {quantity} on order {order.pk} with {remaining} remaining")
        charges = charges_for_fill(
            product=order.product,
            transaction_type=order.transaction_type,
            quantity=quantity,
            price=price,
            on=at.astimezone(timezone.get_default_timezone()).date(),
            brokerage_so_far=order.brokerage_charged,
        )
        buying = order.transaction_type == Order.TransactionType.BUY
        realised = position_apply(position, signed_quantity=quantity if buying else -quantity, price=price)
        value = price * quantity
        if buying:
            position.buy_quantity += quantity
            position.buy_value += value
        else:
            position.sell_quantity += quantity
            position.sell_value += value
        position.charges += charges.total
        row_update(position, POSITION_FIELDS)

        # Delivery moves the whole value; intraday settles only its realised P&L.
        if order.product == Order.Product.MIS:
            cash_change = realised - charges.total
        else:
            cash_change = (-value if buying else value) - charges.total
        with connection.cursor() as cursor:
            cursor.execute(CASH_SQL, [cash_change, timezone.now(), account.pk])

        filled = order.filled_quantity + quantity
        booked_value = ZERO
        if order.filled_quantity:  # only then are there trades already booked
            booked_value = (
                Trade.objects.filter(order=order).aggregate(value=Sum(F("price") * F("quantity")))["value"] or ZERO
            )
        # From the trades themselves, not the previous rounded average: it equals the broker's.
        average = ((booked_value + value) / filled).quantize(Decimal("0.0001"))
        fields = {
            "filled_quantity": filled,
            "pending_quantity": order.quantity - filled,
            "average_price": average,
            "brokerage_charged": order.brokerage_charged + charges.brokerage,
        }
        if order.is_live:
            status_set(order, Status.COMPLETE if filled == order.quantity else Status.OPEN, **fields)
        else:  # a late trade of a cancelled or rejected order: less was cancelled than it said
            fields["cancelled_quantity"] = max(order.cancelled_quantity - quantity, 0)
            fields["pending_quantity"] = 0
            Order.objects.filter(pk=order.pk).update(updated_at=timezone.now(), **fields)
            for name, value in fields.items():
                setattr(order, name, value)
            streams.order_event(order)
        trade = Trade(
            order=order,
            account=account,
            instrument=order.instrument,
            broker=account.broker,
            trade_id=trade_id or uuid.uuid4().hex[:20],
            exchange=order.exchange,
            tradingsymbol=order.tradingsymbol,
            transaction_type=order.transaction_type,
            product=order.product,
            quantity=quantity,
            price=price,
            brokerage=charges.brokerage,
            stt=charges.stt,
            exchange_charge=charges.exchange_charge,
            sebi_fee=charges.sebi_fee,
            stamp_duty=charges.stamp_duty,
            gst=charges.gst,
            total_charges=charges.total,
            realised_pnl=realised,
            fill_timestamp=at,
        )
        row_insert(trade)
        streams.account_event(
            account.owner_id,
            "fill",
            {
                "account": account.pk,
                "order": order.pk,
                "trade_id": trade.trade_id,
                "tradingsymbol": trade.tradingsymbol,
                "instrument_token": order.instrument.instrument_token,
                "transaction_type": trade.transaction_type,
                "quantity": quantity,
                "price": price,
                "charges": charges.total,
                "fill_timestamp": at,
            },
        )
        audit_record(
            action="order.fill",
            actor="broker:" + account.broker,
            object_type="order",
            object_id=order.pk,
            payload={
                "trade_id": trade.trade_id,
                "quantity": quantity,
                "price": price,
                "charges": charges.total,
                "filled_quantity": filled,
                "status": order.status,
            },
        )
    return trade
