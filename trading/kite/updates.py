"""Kite's order updates (postbacks, the ticker's order messages, reconciliation), applied idempotently,
in Kite's order, and only once the update is known to come from Kite.

A postback is trusted only if its checksum, SHA-256 of order_id + order_timestamp + the app's API
secret, matches; it is checked before anything is written. That checksum is the same for every update
of one order, so a captured postback could be sent again later: each update is kept (BrokerUpdate) and
one seen before from the same source, or one older than the newest applied, is refused. The same update
arriving by another source (Kite sends each as a postback and as a ticker message) is applied and
changes nothing. Refusals are counted and logged, not written to the audit trail: they are
unauthenticated input.

An update is matched to its order by Kite's order id or, when it arrives before the placement's answer
(Kite does not promise their order), by the tag the order was placed with.

Fills are booked from Kite's trade records (`trade_id`, `fill_timestamp`, the exact price and quantity)
through the one fill service, which books each trade id once under the account's lock; an update only
says that there is something new to fetch. An update that does not fit the order's state is recorded and
reported, never raised.
"""

import hashlib
import hmac
import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import requests
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from kiteconnect import exceptions as kite_errors

from audit.models import AuditEvent
from audit.services import audit_record
from trading.kite.client import kite_client
from trading.metrics import kite_updates_refused
from trading.models import BrokerUpdate, KiteLink, Order
from trading.orders import fills, locks, services, states
from tradingsite.encryption import decrypt
from tradingsite.exceptions import ApplicationError
from tradingsite.ist import IST

logger = logging.getLogger(__name__)
TAG_LENGTH = 20  # Kite's limit for a tag; an order's tag is the start of its client order id
KITE_YEARS = range(1900, 2100)
QUANTITY_MOST = 2**31 - 1  # the quantity columns are integers
NESTING_MOST = 8  # Kite's updates nest two levels (meta); a body nested deeper is not one of them
SURROGATE = re.compile("[\ud800-\udfff]")  # json.loads joins pairs; what is left is a lone one
# Kite's statuses on the way to OPEN, TRIGGER PENDING, COMPLETE, CANCELLED or REJECTED: the order is
# still live and nothing changes here.
TRANSIENT = frozenset(
    {
        "PUT ORDER REQ RECEIVED",
        "VALIDATION PENDING",
        "OPEN PENDING",
        "MODIFY VALIDATION PENDING",
        "MODIFY PENDING",
        "MODIFIED",
        "CANCEL PENDING",
        "TRIGGER PENDING",
        "AMO REQ RECEIVED",
    }
)


@dataclass(frozen=True)
class KiteTrade:
    """One of Kite's trade records: a fill as the exchange reported it."""

    trade_id: str
    order_id: str
    quantity: int
    price: Decimal
    at: datetime


def trades_from_kite(rows: list[dict]) -> list[KiteTrade]:
    return [
        KiteTrade(
            trade_id=str(row["trade_id"]),
            order_id=str(row.get("order_id") or ""),
            quantity=int(row["quantity"]),
            price=Decimal(str(row["average_price"])),
            at=kite_time(row.get("fill_timestamp") or row.get("exchange_timestamp")) or timezone.now(),
        )
        for row in rows
        if row.get("trade_id") and int(row.get("quantity") or 0) > 0
    ]


# Sources the platform reads from Kite itself (not pushed to it): trusted, and read again and again.
PULLED = frozenset({"reconcile", "broker"})


class UpdateRefused(ApplicationError):
    """The update is forged, repeated or stale; the message says which."""

    code = "postback_refused"
    status = 403


def kite_tag(order: Order) -> str:
    return order.client_order_id.hex[:TAG_LENGTH]


def postback_checksum(update: dict, api_secret: str) -> str:
    return hashlib.sha256(
        f"{update.get('order_id', '')}{update.get('order_timestamp', '')}{api_secret}".encode()
    ).hexdigest()


def kite_time(value) -> datetime | None:
    """Kite's times are IST without a zone, as text or (parsed by kiteconnect) naive datetimes."""
    if not value:
        return None
    if isinstance(value, datetime):
        at = value if value.tzinfo else value.replace(tzinfo=IST)
    else:
        at = datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=IST)
    # Year 1 in IST is 1 BC in UTC: PostgreSQL stores it, and every later read of the order's updates fails.
    if at.year not in KITE_YEARS:
        raise ValueError(f"{value!r} is not between {KITE_YEARS[0]} and {KITE_YEARS[-1]}")
    return at


def kite_count(update: dict, name: str) -> int:
    """A quantity in Kite's update (missing is 0): a whole number a quantity column can hold."""
    value = update.get(name) or 0
    try:
        count = int(value)
    except (TypeError, ValueError, OverflowError):  # text, a list, infinity
        raise ValueError(f"{name} {value!r} is not a quantity") from None
    if not 0 <= count <= QUANTITY_MOST:
        raise ValueError(f"{name} {value!r} is not a quantity")
    return count


def update_problem(update: dict) -> str | None:
    """What makes an update unusable before it is looked at: text with NUL characters (PostgreSQL cannot
    store or even compare them), with a lone surrogate (UTF-8 cannot encode it: not for the checksum, not
    for a query), or nesting deeper than Kite's updates have."""
    stack = [(update, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            return "the update holds a NUL character"
        if isinstance(value, str) and not value.isascii() and SURROGATE.search(value):
            return "the update holds a lone surrogate (JSON's \\ud800 to \\udfff), which is not text"
        if isinstance(value, dict | list):
            if depth > NESTING_MOST:
                return f"the update is nested deeper than {NESTING_MOST} levels"
            items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return None


def order_by_tag(tag: str) -> Order | None:
    """The platform's order placed with this tag: its client order id starts with the tag's hex."""
    if len(tag or "") != TAG_LENGTH:
        return None
    try:
        low, high = uuid.UUID(tag + "0" * 12), uuid.UUID(tag + "f" * 12)
    except ValueError:
        return None
    return (
        Order.objects.filter(client_order_id__gte=low, client_order_id__lte=high, account__broker="kite")
        .select_related("account", "instrument")
        .first()
    )


def order_for_update(update: dict) -> Order | None:
    kite_order_id = str(update.get("order_id") or "")
    order = None
    if kite_order_id:
        order = (
            Order.objects.filter(broker_order_id=kite_order_id, account__broker="kite")
            .select_related("account", "instrument")
            .first()
        )
    if order is None:
        tags = update.get("tags") or []
        for tag in [update.get("tag"), *(tags if isinstance(tags, list) else [])]:
            order = order_by_tag(str(tag or ""))
            if order is not None:
                break
    return order


def postback_link(update: dict, order: Order | None) -> KiteLink | None:
    """The Kite app whose secret signs this postback: the order's account's, or (an order the platform
    does not know) an app of the Kite user the postback names whose secret matches."""
    if order is not None:
        candidates = KiteLink.objects.filter(account_id=order.account_id)
    else:
        candidates = KiteLink.objects.filter(kite_user_id=str(update.get("user_id") or "")[:32]).exclude(
            kite_user_id=""
        )
    # As bytes: compare_digest refuses str with non-ASCII characters (TypeError), and any text may be sent.
    checksum = str(update.get("checksum", "")).encode()
    for link in candidates:
        if hmac.compare_digest(checksum, postback_checksum(update, decrypt(link.api_secret_encrypted)).encode()):
            return link
    return None


def refused(source: str, reason: str, message: str) -> UpdateRefused:
    kite_updates_refused.labels(source=source, reason=reason).inc()
    logger.warning("Kite %s update refused (%s): %s", source, reason, message)
    return UpdateRefused(message)


def kite_postback_receive(body: bytes) -> str:
    """Check and apply one postback; returns what was done. Raises UpdateRefused for what must not apply."""
    try:
        update = json.loads(body)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested past what the parser follows
        raise refused("postback", "malformed", f"the postback is not JSON: {exc}") from exc
    if not isinstance(update, dict) or not update.get("order_id"):
        raise refused("postback", "malformed", "the postback names no order_id")
    if problem := update_problem(update):
        raise refused("postback", "malformed", f"the postback for Kite order {update['order_id']!r}: {problem}")
    order = order_for_update(update)
    if postback_link(update, order) is None:
        raise refused(
            "postback", "checksum", f"the checksum of the postback for Kite order {update['order_id']} does not match"
        )
    if order is None:
        logger.info("postback for Kite order %s, not placed here: left to reconciliation", update["order_id"])
        return "unknown order: left for reconciliation to adopt"
    return kite_order_update(order=order, update=update, source="postback")


def kite_ticker_order_update(update: dict) -> str:
    """One of the ticker's order messages. The websocket is Kite's own, opened with the access token, so
    no checksum; the same update arriving again (or also as a postback) changes nothing."""
    if problem := update_problem(update):
        logger.warning("ticker update for Kite order %r not applied: %s", update.get("order_id"), problem)
        return f"not applied: {problem}"
    order = order_for_update(update)
    if order is None:
        logger.info("ticker update for Kite order %s, not placed here: left to reconciliation", update.get("order_id"))
        return "unknown order: left for reconciliation to adopt"
    try:
        return kite_order_update(order=order, update=update, source="ticker")
    except UpdateRefused as exc:
        return f"not applied: {exc}"


def trades_fetch(order: Order, kite_order_id: str) -> list[KiteTrade] | None:
    """Kite's trade records of one order; None when they cannot be read now (reconciliation books them)."""
    link = KiteLink.objects.filter(account_id=order.account_id).first()
    if link is None:
        return None
    try:
        return trades_from_kite(kite_client(link).order_trades(kite_order_id))
    except (kite_errors.KiteException, requests.RequestException) as exc:
        logger.warning("Kite's trades of order %s could not be read: %s", kite_order_id, exc)
        return None


def kite_order_update(*, order: Order, update: dict, source: str, trades: list[KiteTrade] | None = None) -> str:
    """Apply one update of `order`. `trades`: Kite's trade records of the order when the caller has them
    (reconciliation reads the whole trade book); otherwise they are fetched when the update shows fills
    the platform has not booked."""
    # Per source: Kite sends the same update as a postback and as a ticker order message, which is not a
    # replay (the second changes nothing); the same postback twice is.
    digest = hashlib.sha256(f"{source}:{json.dumps(update, sort_keys=True, default=str)}".encode()).hexdigest()
    try:
        at = kite_time(update.get("exchange_update_timestamp"))
        filled = kite_count(update, "filled_quantity")
    except ValueError as exc:
        raise refused(source, "malformed", f"the update's time or filled quantity cannot be read: {exc}") from exc
    kite_order_id = str(update.get("order_id") or order.broker_order_id)
    if trades is None and filled > order.filled_quantity:
        trades = trades_fetch(order, kite_order_id)  # before any lock: a network call
    with transaction.atomic():
        # The account's lock serialises every update, fill and request of its orders: two sources
        # delivering one update at the same moment apply it one after the other.
        locks.account_lock(order.account_id)
        order.refresh_from_db()
        newest = BrokerUpdate.objects.filter(order=order).aggregate(newest=Max("exchange_update_at"))["newest"]
        if at is not None and newest is not None and at < newest:
            raise refused(
                source,
                "stale",
                f"the update of {at:%H:%M:%S} IST is older than the one already applied "
                f"({newest.astimezone(IST):%H:%M:%S} IST)",
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
            # A pushed update seen before is a replay. What the platform pulls from Kite itself
            # (reconciliation, reading an order back) is applied again: Kite's trade book may have caught
            # up with its order book since, and applying changes nothing else twice.
            if source not in PULLED:
                raise refused(source, "replay", "this update was received before (a replay)") from None
        # Trades are facts, booked even when the status beside them does not fit: each part on its own.
        done = []
        for part in (accept_and_book, status_apply):
            try:
                with transaction.atomic():
                    done.extend(part(order, update, kite_order_id, trades or []))
            except (ApplicationError, ValueError, TypeError) as exc:
                done.append(unfit_record(order, update, source, str(exc)))
            order.refresh_from_db()
        return ", ".join(done) or "nothing new"


def unfit_record(order: Order, update: dict, source: str, why: str) -> str:
    """An update that does not fit the order's state: kept for a person to look at (once), and reported."""
    fields = {"order_id": order.pk}
    logger.warning("Kite update of order %s does not fit its state (%s): %s", order.pk, order.status, why, extra=fields)
    if AuditEvent.objects.filter(action="kite.update_unfit", object_id=str(order.pk), payload__why=why[:500]).exists():
        return f"not applied: {why}"
    audit_record(
        action="kite.update_unfit",
        actor="broker:kite",
        object_type="order",
        object_id=order.pk,
        payload={
            "source": source,
            "kite_order_id": str(update.get("order_id", "")),
            "kite_status": str(update.get("status", "")),
            "filled_quantity": update.get("filled_quantity"),
            "order_status": order.status,
            "why": why[:500],
        },
    )
    return f"not applied: {why}"


def accept_and_book(order: Order, update: dict, kite_order_id: str, trades: list[KiteTrade]) -> list[str]:
    done = []
    if not order.broker_order_id and kite_order_id:
        # It came before the placement's answer (matched by tag): this is Kite's id for it.
        accepted = Order.Status.TRIGGER_PENDING if update.get("status") == "TRIGGER PENDING" else Order.Status.OPEN
        services.order_broker_accept(order=order, broker_order_id=kite_order_id, status=accepted)
        order.refresh_from_db()
        done.append("accepted")
    terms = order.pending_terms
    if order.pending_request == "modify" and kite_count(update, "quantity") == int(terms["quantity"]) != order.quantity:
        # Kite's update has the new quantity: Kite applied the modification, and trades may already be
        # filling the quantity it added.
        services.order_modify_confirm(order=order, terms=terms)
        order.refresh_from_db()
        done.append("modification confirmed")
    for trade in sorted(trades, key=lambda t: (t.at, t.trade_id)):
        if trade.order_id != kite_order_id:
            continue
        if fills.fill_apply(
            order=order, quantity=trade.quantity, price=trade.price, at=trade.at, trade_id=trade.trade_id
        ):
            done.append(f"filled {trade.quantity} at {trade.price}")
            order.refresh_from_db()
    return done


def status_apply(order: Order, update: dict, kite_order_id: str, trades: list[KiteTrade]) -> list[str]:
    done = []
    status = str(update.get("status") or "")
    message = update.get("status_message") or ""
    filled = kite_count(update, "filled_quantity")
    if status in ("CANCELLED", "REJECTED") and not order.is_live and order.pending_request:
        services.pending_settle(order=order)  # e.g. the cancel sent for an order accepted after it ended here
        done.append(f"{order.pending_request} settled")
    if status == "CANCELLED":
        if order.is_live:
            services.order_cancel(order=order, reason=f"cancelled at Kite {message}".strip(), by_broker=True)
            done.append("cancelled")
        elif order.status == Order.Status.COMPLETE and order.filled_quantity < order.quantity:
            raise states.IllegalTransition(f"Kite says CANCELLED but the order is {order.status} here")
    elif status == "REJECTED":
        if order.is_live:
            services.order_broker_reject(order=order, reason=f"Kite rejected the order: {message or 'no reason given'}")
            done.append("rejected")
        elif order.status == Order.Status.COMPLETE:
            raise states.IllegalTransition(f"Kite says REJECTED but the order is {order.status} here")
    elif status == "COMPLETE":
        if order.filled_quantity < filled:
            done.append(f"{filled - order.filled_quantity} filled at Kite awaiting its trade records")
    elif status == "OPEN":
        if order.status == Order.Status.TRIGGER_PENDING:
            services.order_trigger(order=order)
            done.append("triggered")
        elif not order.is_live:
            raise states.IllegalTransition(f"Kite says OPEN but the order is {order.status} here")
    elif status not in TRANSIENT:
        raise states.IllegalTransition(f"Kite's status {status!r} is not one the platform knows")
    return done
