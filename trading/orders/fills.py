"""Fills: each broker trade booked once, with its charges, into the order, the position and the cash."""

import uuid
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils import timezone

from audit.services import audit_record
from trading import metrics
from trading.models import LedgerCross, Order, StrategyPosition, Trade, TradingAccount
from trading.orders import locks
from trading.orders.charges import charges_for_fill
from trading.orders.states import IllegalTransition, status_set
from trading.realtime import streams
from tradingsite.exceptions import ValidationError
from tradingsite.rows import row_insert, row_update
from tradingsite.tracing import traced

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
    """Apply a fill to a position at average cost; return the P&L it realised (before charges).

    `open_cost` is signed as the quantity is: what a long cost, or (negative) what a short brought in.
    """
    held = position.quantity
    realised = ZERO
    if held == 0 or (held > 0) == (signed_quantity > 0):
        position.open_cost = position.open_cost + signed_quantity * price
    else:
        closing = min(abs(signed_quantity), abs(held))
        if closing == abs(held):
            cost_closed = position.open_cost
        else:  # half-up on the magnitude (Decimal's half-up is away from zero), for long and short alike
            cost_closed = (position.open_cost * closing / abs(held)).quantize(PAISA, rounding=ROUND_HALF_UP)
        closed_quantity = closing if held > 0 else -closing
        realised = closed_quantity * price - cost_closed
        position.open_cost -= cost_closed
        opening = abs(signed_quantity) - closing
        if opening:  # the fill reversed the position: the rest opens at this price
            position.open_cost = (opening if signed_quantity > 0 else -opening) * price
    position.quantity = held + signed_quantity
    position.average_price = average_of(position.open_cost, position.quantity)
    position.realised_pnl += realised
    return realised


def average_of(open_cost: Decimal, quantity: int) -> Decimal:
    return (open_cost / quantity).quantize(Decimal("0.0001")) if quantity else ZERO


def ledgers_apply(position, ledger, *, signed_quantity: int, price: Decimal, charges: Decimal) -> Decimal:
    """Book a fill into its sub-ledger at the sub-ledger's own average cost, and the same change into the
    account's position, so the position stays the exact sum of its sub-ledgers; return the realised P&L."""
    cost_before = ledger.open_cost
    realised = position_apply(ledger, signed_quantity=signed_quantity, price=price)
    position.quantity += signed_quantity
    position.open_cost += ledger.open_cost - cost_before
    position.average_price = average_of(position.open_cost, position.quantity)
    position.realised_pnl += realised
    value = price * abs(signed_quantity)
    for row in (position, ledger):
        if signed_quantity > 0:
            row.buy_quantity += signed_quantity
            row.buy_value += value
        else:
            row.sell_quantity -= signed_quantity
            row.sell_value += value
        row.charges += charges
    return realised


def ledgers_cross(
    *,
    position,
    seller,
    buyer,
    quantity: int,
    price: Decimal,
    reason: str,
    at: datetime,
    order: Order | None = None,
    actor=None,
) -> LedgerCross:
    """Move `quantity` from the sub-ledger `seller` to `buyer`, both of `position`, at `price`: each
    realises its P&L at that price; the position's quantity is unchanged and it stays the exact sum of
    its sub-ledgers. Nothing is traded, so the traded quantities and values (which match the trades and
    the broker's) are not touched. For MIS the realised P&L settles into cash, as a fill's does. The
    caller holds the account lock, the position's and both sub-ledgers'; the rows are written here, with
    the cross and its audit event."""
    realised = ZERO
    for ledger, signed in ((seller, -quantity), (buyer, quantity)):
        cost_before = ledger.open_cost
        realised += position_apply(ledger, signed_quantity=signed, price=price)
        position.open_cost += ledger.open_cost - cost_before
    position.average_price = average_of(position.open_cost, position.quantity)
    position.realised_pnl += realised
    for row in (position, seller, buyer):
        row_update(row, POSITION_FIELDS)
    if position.product == Order.Product.MIS and realised:
        with connection.cursor() as cursor:
            cursor.execute(CASH_SQL, [realised, timezone.now(), position.account_id])
    cross = row_insert(
        LedgerCross(
            account_id=position.account_id,
            instrument_id=position.instrument_id,
            product=position.product,
            seller_id=seller.strategy_id,
            buyer_id=buyer.strategy_id,
            quantity=quantity,
            price=price,
            realised_pnl=realised,
            reason=reason,
            order=order,
            crossed_at=at,
        )
    )
    audit_record(
        action="position.cross",
        actor=actor or "system:" + reason,
        object_type="ledger_cross",
        object_id=cross.pk,
        payload={
            "account": position.account_id,
            "instrument": position.instrument_id,
            "product": position.product,
            "seller_strategy": seller.strategy_id,
            "buyer_strategy": buyer.strategy_id,
            "quantity": quantity,
            "price": price,
            "realised_pnl": realised,
            "order": order.pk if order is not None else None,
        },
    )
    return cross


def ledgers_others(position, *, excluding: int | None = None) -> list:
    """The position's other non-flat sub-ledgers, locked, oldest first (the caller holds the account
    and position locks, so this never waits on another writer of them)."""
    rows = (
        StrategyPosition.objects.select_for_update(of=("self",))
        .select_related("strategy")
        .filter(account_id=position.account_id, instrument_id=position.instrument_id, product=position.product)
    )
    return list(rows.exclude(quantity=0).exclude(pk=excluding).order_by("pk"))


def delivery_cover(position, ledger, *, quantity: int, price: Decimal, at: datetime, order: Order) -> Decimal:
    """Before a CNC sell of `quantity` from `ledger`, move what the ledger lacks into it from the
    position's other long sub-ledgers at the fill's price, the manual book's first, then the strategies'
    oldest first: shares held for delivery exist once, so a sale of shares another book bought closes
    that book's holding, and no delivery book goes short. The P&L the other books realised."""
    shortfall = quantity - ledger.quantity
    realised = ZERO
    # Who sold: the person who placed the order, or its strategy.
    actor = order.placed_by if order.placed_by_id else (f"strategy:{order.strategy_id}" if order.strategy_id else None)
    others = sorted(ledgers_others(position, excluding=ledger.pk), key=lambda book: book.strategy_id is not None)
    for other in others:
        if shortfall <= 0:
            break
        if other.quantity > 0:
            moved = min(other.quantity, shortfall)
            cross = ledgers_cross(
                position=position,
                seller=other,
                buyer=ledger,
                quantity=moved,
                price=price,
                reason=LedgerCross.Reason.DELIVERY,
                at=at,
                order=order,
                actor=actor,
            )
            realised += cross.realised_pnl
            shortfall -= moved
    return realised


def fill_count(order: Order, price: Decimal) -> None:
    """Counted once the fill commits: the fill, and its price against the last price at placement."""
    slippage = None
    if order.arrival_price:
        sign = 1 if order.transaction_type == Order.TransactionType.BUY else -1
        slippage = float(sign * (price - order.arrival_price) / order.arrival_price * 10_000)

    def count():
        metrics.fills.labels(order.product).inc()
        if slippage is not None:
            metrics.fill_slippage.observe(slippage)

    transaction.on_commit(count)


@traced("order.fill")
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
        ledger = locks.ledger_lock(position=position, strategy_id=order.strategy_id)
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
        # A delivery sale realises, for the account, what the books it took shares from realised too.
        covered = ZERO
        if order.product == Order.Product.CNC and not buying and ledger.quantity < quantity:
            covered = delivery_cover(position, ledger, quantity=quantity, price=price, at=at, order=order)
        realised = covered + ledgers_apply(
            position, ledger, signed_quantity=quantity if buying else -quantity, price=price, charges=charges.total
        )
        value = price * quantity
        fill_count(order, price)
        row_update(position, POSITION_FIELDS)
        row_update(ledger, POSITION_FIELDS)

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
