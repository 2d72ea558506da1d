"""Writes on the order path. API, UI, management commands and strategies all come through here.

Placement, in one transaction: lock the account, run the risk checks, insert the order and its
outbox row, record the audit event. A worker sends the outbox row to the broker after commit.
Broker updates (acceptance, triggers, fills, cancels) come back through `order_*` and `fill_apply`,
which move the order through its state machine with conditional updates.
"""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_record
from trading import metrics
from trading.market.prices import price_last
from trading.models import Instrument, Order, OutboxEntry, Strategy, TradingAccount
from trading.orders import locks
from trading.orders.accounts import account_status_set, daily_loss_enforce
from trading.orders.book import account_book
from trading.orders.outbox import outbox_notify, place_withdraw
from trading.orders.risk import OrderIntent, RiskRejection, risk_check
from trading.orders.states import IllegalTransition, order_snapshot, status_set
from trading.realtime import streams
from tradingsite.exceptions import ValidationError
from tradingsite.rows import row_insert
from tradingsite.tracing import traced, traceparent

Status = Order.Status

# Brokers that confirm a cancel or modification later, by an order update: the request stays pending.
CONFIRMING_BROKERS = frozenset({TradingAccount.Broker.KITE})


@traced("order.place")
def order_place(
    *,
    account: TradingAccount,
    instrument: Instrument,
    transaction_type: str,
    order_type: str,
    product: str,
    quantity: int,
    price: Decimal | None = None,
    trigger_price: Decimal | None = None,
    validity: str = Order.Validity.DAY,
    disclosed_quantity: int = 0,
    tag: str = "",
    strategy: Strategy | None = None,
    placed_by=None,
    squareoff: bool = False,
) -> Order:
    """Place an order. A risk rejection is stored as a REJECTED order naming its rule, and returned.

    `squareoff` marks the platform's own closing of an intraday position (see `risk_check`).
    """
    if strategy is not None and strategy.account_id != account.pk:
        raise ValidationError(f"strategy {strategy.name} belongs to another account")
    intent = OrderIntent(instrument, transaction_type, order_type, product, quantity, price, trigger_price)
    # Inside a caller's transaction (the API's, with its idempotency record) no savepoint is needed.
    with transaction.atomic(savepoint=False):
        account = locks.account_lock(account.pk)
        book = account_book(account)
        daily_loss_enforce(account, book)
        order = Order(
            account=account,
            instrument=instrument,
            strategy=strategy,
            placed_by=placed_by if getattr(placed_by, "is_authenticated", False) else None,
            exchange=instrument.exchange,
            tradingsymbol=instrument.tradingsymbol,
            transaction_type=transaction_type,
            order_type=order_type,
            product=product,
            validity=validity,
            quantity=quantity,
            price=price,
            trigger_price=trigger_price,
            disclosed_quantity=disclosed_quantity,
            tag=tag,
            pending_quantity=quantity,
            arrival_price=price_last(instrument),
        )
        try:
            risk_check(
                account=account,
                intent=intent,
                last_price=order.arrival_price,
                book=book,
                closing_only=squareoff,
            )
        except RiskRejection as rejection:
            order.status = Status.REJECTED
            order.status_message = rejection.message
            order.rejection_rule = rejection.rule
            order.pending_quantity = 0
            row_insert(order)
            # The rule's numbers, for the caller's answer (not stored: the audit event keeps them too).
            order.rejection_details = rejection.details
            placed_count(order, "rejected", rejection.rule)
            streams.order_event(order)
            audit_record(
                action="order.reject",
                actor=placed_by or "system",
                object_type="order",
                object_id=order.pk,
                payload={
                    **order_snapshot(order),
                    "rule": rejection.rule,
                    "reason": rejection.message,
                    "details": rejection.details,
                },
            )
            return order
        row_insert(order)
        placed_count(order, "accepted")
        streams.order_event(order)
        entry = row_insert(OutboxEntry(order=order, action=OutboxEntry.Action.PLACE, trace_context=traceparent()))
        audit_record(
            action="order.place",
            actor=placed_by or "system",
            object_type="order",
            object_id=order.pk,
            payload=order_snapshot(order),
        )
        outbox_notify(entry)
    return order


def placed_count(order: Order, outcome: str, rule: str = "") -> None:
    """Counted once the placement commits (a rolled-back one never happened)."""
    source = "strategy" if order.strategy_id else "person"

    def count():
        metrics.orders_placed.labels(outcome, source).inc()
        if rule:
            metrics.order_rejections.labels(rule).inc()

    transaction.on_commit(count)


def at_confirming_broker(order: Order, account: TradingAccount) -> bool:
    """The order is, or may be, at a broker that confirms cancels and modifications by a later update:
    accepted there, or its placement already taken by a worker (it may be on its way)."""
    if account.broker not in CONFIRMING_BROKERS:
        return False
    if order.broker_order_id or order.status != Status.RECEIVED:
        return True
    return not OutboxEntry.objects.filter(
        order=order,
        action=OutboxEntry.Action.PLACE,
        sent_at__isnull=True,
        claimed_at__isnull=True,
        tried_at__isnull=True,
    ).exists()


def order_modify(
    *,
    order: Order,
    quantity: int | None = None,
    price: Decimal | None = None,
    trigger_price: Decimal | None = None,
    order_type: str | None = None,
    modified_by=None,
) -> Order:
    """Change a live order's quantity, price, trigger or type; the new terms go through the risk checks.

    At a broker that confirms modifications (Kite) the new terms wait in `pending_terms` until it
    does; a refusal leaves the order as it was.
    """
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        order = locks.order_lock(order.pk, account=account)
        if not order.is_live:
            raise IllegalTransition(f"order {order.pk} is {order.status} and can no longer be modified")
        if order.pending_request == "cancel":
            raise IllegalTransition(f"order {order.pk} has a cancel pending at the broker")
        limit = settings.KITE_MODIFICATIONS_PER_ORDER
        if account.broker == TradingAccount.Broker.KITE and order.modification_count >= limit:
            raise ValidationError(
                f"Kite allows {limit} modifications per order and order {order.pk} has had them: "
                "cancel it and place a new one",
                code="kite_modification_limit",
            )
        new_type = order_type or order.order_type
        new_quantity = quantity if quantity is not None else order.quantity
        if new_quantity <= order.filled_quantity:
            raise ValidationError(
                f"quantity {new_quantity} must exceed the {order.filled_quantity} already filled",
                details={"filled_quantity": order.filled_quantity},
            )
        new_price = price if price is not None else order.price
        new_trigger = trigger_price if trigger_price is not None else order.trigger_price
        if new_type in (Order.OrderType.MARKET, Order.OrderType.SLM):
            new_price = None
        if new_type in (Order.OrderType.MARKET, Order.OrderType.LIMIT):
            new_trigger = None
        intent = OrderIntent(
            order.instrument,
            order.transaction_type,
            new_type,
            order.product,
            new_quantity - order.filled_quantity,
            new_price,
            new_trigger,
        )
        risk_check(
            account=account,
            intent=intent,
            last_price=price_last(order.instrument),
            book=account_book(account, excluding=order),
            count_rate=False,
        )
        before = order_snapshot(order)
        terms = {"order_type": new_type, "quantity": new_quantity, "price": new_price, "trigger_price": new_trigger}
        pending = at_confirming_broker(order, account)
        if pending:
            Order.objects.filter(pk=order.pk).update(
                pending_request="modify",
                pending_terms=terms_json(terms),
                modification_count=F("modification_count") + 1,
                updated_at=timezone.now(),
            )
        else:
            terms_apply(order, terms, count=True)
        order.refresh_from_db()
        order.account = account
        streams.order_event(order)
        if pending or order.status != Status.RECEIVED:
            # Not yet placed: the placement carries the new terms. Otherwise the broker is told.
            outbox_notify(OutboxEntry.objects.create(order=order, action=OutboxEntry.Action.MODIFY))
        audit_record(
            action="order.modify_request" if pending else "order.modify",
            actor=modified_by or "system",
            object_type="order",
            object_id=order.pk,
            payload={"before": before, "after": {**order_snapshot(order), **(terms if pending else {})}},
        )
    return order


def terms_json(terms: dict) -> dict:
    return {name: (str(value) if isinstance(value, Decimal) else value) for name, value in terms.items()}


def terms_apply(order: Order, terms: dict, *, count: bool) -> None:
    price, trigger = terms.get("price"), terms.get("trigger_price")
    fields = {
        "order_type": terms["order_type"],
        "quantity": int(terms["quantity"]),
        "pending_quantity": int(terms["quantity"]) - order.filled_quantity,
        "price": Decimal(str(price)) if price is not None else None,
        "trigger_price": Decimal(str(trigger)) if trigger is not None else None,
        "updated_at": timezone.now(),
    }
    if count:
        fields["modification_count"] = F("modification_count") + 1
    Order.objects.filter(pk=order.pk).update(**fields)


def order_modify_confirm(*, order: Order, terms: dict) -> Order:
    """The broker took a modification to `terms` (as they were sent): the order now has them. A newer
    modification requested since stays pending: its own entry sends it."""
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        order = locks.order_lock(order.pk, account=account)
        if order.is_live and int(terms["quantity"]) > order.filled_quantity:
            terms_apply(order, terms, count=False)
        if order.pending_request == "modify" and order.pending_terms == terms:
            Order.objects.filter(pk=order.pk).update(pending_request="", pending_terms={})
        order.refresh_from_db()
        streams.order_event(order)
        audit_record(
            action="order.modify",
            actor="broker:" + order.account.broker,
            object_type="order",
            object_id=order.pk,
            payload={"confirmed": terms, "after": order_snapshot(order)},
        )
    return order


def order_request_refused(*, order: Order, action: str, message: str) -> Order:
    """The broker refused a cancel or modification: the order stays as it was, live if it was. Only that
    request is settled: a cancel asked for while a refused modification was on its way stays pending."""
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        order = locks.order_lock(order.pk, account=account)
        requested = order.pending_terms
        if order.pending_request == action:
            Order.objects.filter(pk=order.pk).update(pending_request="", pending_terms={}, updated_at=timezone.now())
            order.pending_request, order.pending_terms = "", {}
            streams.order_event(order)
        audit_record(
            action=f"order.{action}_refused",
            actor="broker:" + order.account.broker,
            object_type="order",
            object_id=order.pk,
            payload={"broker_order_id": order.broker_order_id, "message": message[:500], "requested": requested},
        )
    return order


def pending_settle(*, order: Order) -> None:
    """A finished order has nothing pending: the broker's final word settles any request left over."""
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        order = locks.order_lock(order.pk, account=account)
        if order.pending_request and not order.is_live:
            Order.objects.filter(pk=order.pk).update(pending_request="", pending_terms={}, updated_at=timezone.now())
            order.pending_request, order.pending_terms = "", {}
            streams.order_event(order)


def order_cancel(*, order: Order, cancelled_by=None, reason: str = "", by_broker: bool = False) -> Order:
    """Cancel what is left of a live order; its filled part stands. `by_broker`: the broker reported the
    cancellation itself (an order update), so no cancel is sent back to it.

    At a broker that confirms cancels (Kite) the order stays live with a cancel pending until the
    broker's update says it is cancelled; a refusal (it filled first) leaves it as it is. An order whose
    placement no worker has taken yet is cancelled here at once: it never reaches the broker.
    """
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        order = locks.order_lock(order.pk, account=account)
        if not order.is_live:
            raise IllegalTransition(f"order {order.pk} is {order.status} and can no longer be cancelled")
        # An order whose placement no worker has taken is withdrawn and cancelled here; one that may
        # have reached the broker waits for the broker to confirm.
        withdrawn = order.status == Status.RECEIVED and not order.broker_order_id and place_withdraw(order)
        if not by_broker and not withdrawn and at_confirming_broker(order, account):
            if order.pending_request != "cancel":
                Order.objects.filter(pk=order.pk).update(
                    pending_request="cancel", pending_terms={"reason": reason}, updated_at=timezone.now()
                )
                order.pending_request, order.pending_terms = "cancel", {"reason": reason}
                streams.order_event(order)
                outbox_notify(OutboxEntry.objects.create(order=order, action=OutboxEntry.Action.CANCEL))
                audit_record(
                    action="order.cancel_request",
                    actor=cancelled_by or "system",
                    object_type="order",
                    object_id=order.pk,
                    payload={**order_snapshot(order), "reason": reason},
                )
            return order
        remaining = order.quantity - order.filled_quantity
        status_set(
            order,
            Status.CANCELLED,
            pending_quantity=0,
            cancelled_quantity=remaining,
            status_message=(reason or "cancelled")[:512],  # a broker's reason can be longer than the column
            pending_request="",
            pending_terms={},
        )
        if order.broker_order_id and not by_broker and account.broker not in CONFIRMING_BROKERS:
            outbox_notify(OutboxEntry.objects.create(order=order, action=OutboxEntry.Action.CANCEL))
        audit_record(
            action="order.cancel",
            actor=cancelled_by or "system",
            object_type="order",
            object_id=order.pk,
            payload={**order_snapshot(order), "cancelled_quantity": remaining, "reason": reason},
        )
    return order


@traced("order.accept")
def order_broker_accept(*, order: Order, broker_order_id: str, status: str) -> Order:
    """The broker has the order: it rests (OPEN) or waits for its trigger (TRIGGER PENDING).

    An acceptance of an order no longer live here (cancelled or rejected while its placement was on
    the way) sends a cancel to the broker, so nothing stays live there that is not live here.
    """
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        order = locks.order_lock(order.pk, account=account)
        if order.status != Status.RECEIVED:
            # Already accepted (by an update that came first, or a re-sent submission): record the id.
            if not order.broker_order_id:
                Order.objects.filter(pk=order.pk).update(broker_order_id=broker_order_id)
                order.broker_order_id = broker_order_id
                if not order.is_live and account.broker in CONFIRMING_BROKERS:
                    Order.objects.filter(pk=order.pk).update(pending_request="cancel")
                    outbox_notify(OutboxEntry.objects.create(order=order, action=OutboxEntry.Action.CANCEL))
                    audit_record(
                        action="order.cancel_request",
                        actor="system",
                        object_type="order",
                        object_id=order.pk,
                        payload={"broker_order_id": broker_order_id, "reason": f"accepted after it was {order.status}"},
                    )
            return order
        status_set(order, status, broker_order_id=broker_order_id)
        waited = (timezone.now() - order.created_at).total_seconds()
        transaction.on_commit(lambda: metrics.broker_latency.labels(account.broker).observe(waited))
        audit_record(
            action="order.accept",
            actor="broker:" + account.broker,
            object_type="order",
            object_id=order.pk,
            payload={"broker_order_id": broker_order_id, "status": status},
        )
    return order


def order_broker_reject(*, order: Order, reason: str) -> Order:
    """The broker refused the order, at placement or later (Kite's risk check after OPEN); what filled stands."""
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        order = locks.order_lock(order.pk, account=account)
        status_set(
            order,
            Status.REJECTED,
            pending_quantity=0,
            cancelled_quantity=order.quantity - order.filled_quantity,
            status_message=reason[:512],
            rejection_rule="broker",
            pending_request="",
            pending_terms={},
        )
        audit_record(
            action="order.reject",
            actor="broker:" + account.broker,
            object_type="order",
            object_id=order.pk,
            payload={**order_snapshot(order), "rule": "broker", "reason": reason},
        )
    return order


def order_trigger(*, order: Order) -> Order:
    """An SL order's trigger price was crossed: it now rests as a LIMIT at its price."""
    with transaction.atomic():
        account = locks.account_lock(order.account_id)
        order = locks.order_lock(order.pk, account=account)
        if order.status != Status.TRIGGER_PENDING:
            return order
        status_set(order, Status.OPEN)
        audit_record(
            action="order.trigger",
            actor="broker:" + account.broker,
            object_type="order",
            object_id=order.pk,
            payload={"trigger_price": order.trigger_price},
        )
    return order


def account_halt(*, account: TradingAccount, reason: str, halted_by=None) -> list[Order]:
    """The kill switch: halt the account and cancel every live order in it."""
    with transaction.atomic():
        account = locks.account_lock(account.pk)
        account_status_set(account=account, status=TradingAccount.Status.HALTED, reason=reason, actor=halted_by)
        return [
            order_cancel(order=order, cancelled_by=halted_by, reason=f"account halted: {reason}")
            for order in Order.objects.filter(account=account, status__in=Order.LIVE).order_by("pk")
        ]
