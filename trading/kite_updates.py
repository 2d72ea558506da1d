"""Kite's order updates (postbacks, the ticker's order messages, reconciliation), applied idempotently
and in order.

A postback is trusted only if its checksum, SHA-256 of order_id + order_timestamp + the app's API
secret, matches. That checksum is the same for every update of one order, so a captured postback
could be sent again later: each update is kept (BrokerUpdate) and one seen before from the same source,
or one older than the newest applied, is refused and recorded. The same update arriving by another
source (Kite sends each as a postback and as a ticker message) is applied and changes nothing.
Fills are booked from the growth of `filled_quantity` at the price implied by the change in
`average_price`.
"""

import hashlib
import hmac
import json
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max

from audit.services import audit_record
from tradingsite.encryption import decrypt
from tradingsite.ist import IST

from . import services
from .models import BrokerUpdate, KiteLink, Order

PAISA = Decimal("0.01")


class UpdateRefused(Exception):
    """The update is forged, repeated or stale; the message says which."""


def postback_checksum(update: dict, api_secret: str) -> str:
    return hashlib.sha256(
        f"{update.get('order_id', '')}{update.get('order_timestamp', '')}{api_secret}".encode()
    ).hexdigest()


def kite_time(text) -> datetime | None:
    if not text:
        return None
    return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)


def order_for_update(update: dict) -> tuple[Order, KiteLink] | tuple[None, None]:
    order = (
        Order.objects.filter(broker_order_id=str(update.get("order_id", "")), account__broker="kite")
        .select_related("account", "instrument")
        .first()
    )
    link = KiteLink.objects.filter(account_id=order.account_id).first() if order else None
    return (order, link) if link else (None, None)


def unknown_order_record(action: str, update: dict) -> str:
    """An update of an order the platform does not have (placed elsewhere): reconciliation adopts it."""
    audit_record(
        action=action,
        actor="broker:kite",
        object_type="kite_order",
        object_id=str(update.get("order_id", ""))[:64],
        payload={"status": str(update.get("status", ""))},
    )
    return "unknown order: recorded for reconciliation"


def kite_postback_receive(body: bytes) -> str:
    """Check and apply one postback; returns what was done. Raises UpdateRefused for what must not apply."""
    try:
        update = json.loads(body)
    except ValueError as exc:
        raise UpdateRefused(f"the postback is not JSON: {exc}") from exc
    if not isinstance(update, dict) or not update.get("order_id"):
        raise UpdateRefused("the postback names no order_id")
    order, link = order_for_update(update)
    if order is None:
        return unknown_order_record("kite.postback_unknown", update)
    expected = postback_checksum(update, decrypt(link.api_secret_encrypted))
    if not hmac.compare_digest(str(update.get("checksum", "")), expected):
        raise UpdateRefused(f"the checksum of the postback for Kite order {update['order_id']} does not match")
    return kite_order_update(order=order, update=update, source="postback")


def kite_ticker_order_update(update: dict) -> str:
    """One of the ticker's order messages. The websocket is Kite's own, opened with the access token, so
    no checksum; the same update arriving again (or also as a postback) changes nothing."""
    order, _ = order_for_update(update)
    if order is None:
        return unknown_order_record("kite.ticker_unknown", update)
    try:
        return kite_order_update(order=order, update=update, source="ticker")
    except UpdateRefused as exc:
        return f"not applied: {exc}"


def kite_order_update(*, order: Order, update: dict, source: str) -> str:
    # Per source: Kite sends the same update as a postback and as a ticker order message, which is not a
    # replay (the second changes nothing); the same postback twice is.
    digest = hashlib.sha256(f"{source}:{json.dumps(update, sort_keys=True, default=str)}".encode()).hexdigest()
    at = kite_time(update.get("exchange_update_timestamp"))
    filled = int(update.get("filled_quantity") or 0)
    with transaction.atomic():
        newest = BrokerUpdate.objects.filter(order=order).aggregate(newest=Max("exchange_update_at"))["newest"]
        if at is not None and newest is not None and at < newest:
            raise UpdateRefused(
                f"the update of {at:%H:%M:%S} is older than the one already applied ({newest:%H:%M:%S})"
            )
        try:
            with transaction.atomic():
                BrokerUpdate.objects.create(
                    order=order,
                    source=source,
                    digest=digest,
                    exchange_update_at=at,
                    status=str(update.get("status", ""))[:32],
                    filled_quantity=filled,
                )
        except IntegrityError:
            raise UpdateRefused("this update was received before (a replay)") from None
        return apply(order, update, filled)


def apply(order: Order, update: dict, filled: int) -> str:
    done = []
    order.refresh_from_db()
    delta = filled - order.filled_quantity
    if delta > 0 and order.is_live:
        average = Decimal(str(update.get("average_price") or 0))
        price = ((average * filled - order.average_price * order.filled_quantity) / delta).quantize(
            PAISA, ROUND_HALF_UP
        )
        services.fill_apply(order=order, quantity=delta, price=price)
        done.append(f"filled {delta} at {price}")
        order.refresh_from_db()
    status = update.get("status")
    message = update.get("status_message") or ""
    if status == "CANCELLED" and order.is_live:
        services.order_cancel(order=order, reason=f"cancelled at Kite {message}".strip(), by_broker=True)
        done.append("cancelled")
    elif status == "REJECTED" and order.is_live and order.filled_quantity == 0:
        services.order_broker_reject(order=order, reason=f"Kite rejected the order: {message or 'no reason given'}")
        done.append("rejected")
    elif status == "OPEN" and order.status == Order.Status.TRIGGER_PENDING:
        services.order_trigger(order=order)
        done.append("triggered")
    return ", ".join(done) or "nothing new"
