"""Sending outbox entries to the broker, at least once, with the broker making it exactly once.

A worker claims an entry with a conditional UPDATE (so two workers never send it at the same time),
calls the broker, then marks it sent. A worker that dies after claiming leaves the claim to time
out; the sweep then sends it again. Re-sending is safe because the broker is keyed by the order's
client order id: the paper exchange finds its first entry, and Kite is asked by tag first.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from trading.brokers import broker_for
from trading.models import Order, OutboxEntry
from trading.orders.outbox import entry_next

logger = logging.getLogger(__name__)


def outbox_claim(entry_id: int) -> bool:
    now = timezone.now()
    stale = now - timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS)
    claimed = OutboxEntry.objects.filter(
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale), pk=entry_id, sent_at__isnull=True
    ).update(claimed_at=now, attempts=F("attempts") + 1)
    return claimed == 1


def outbox_send(entry_id: int) -> bool:
    """Send one entry if it is unsent and unclaimed (or its claim went stale), and no earlier entry of
    its order is still unsent: an order's entries go out one at a time, in order (place, then modify,
    then cancel), so a cancel never overtakes the placement it cancels. True when sent now."""
    order_id = OutboxEntry.objects.filter(pk=entry_id).values_list("order_id", flat=True).first()
    if order_id is None:
        return False
    if OutboxEntry.objects.filter(order_id=order_id, sent_at__isnull=True, pk__lt=entry_id).exists():
        return False  # sent after the earlier one: see entry_next
    if not outbox_claim(entry_id):
        return False
    entry = OutboxEntry.objects.select_related("order__account", "order__instrument").get(pk=entry_id)
    order: Order = entry.order
    broker = broker_for(order.account)
    try:
        getattr(broker, entry.action)(order)
    except Exception as exc:
        # Release the claim so a retry (task backoff or the sweep) can take it at once.
        OutboxEntry.objects.filter(pk=entry_id).update(claimed_at=None, last_error=f"{type(exc).__name__}: {exc}")
        raise
    OutboxEntry.objects.filter(pk=entry_id).update(sent_at=timezone.now(), last_error="")
    entry_next(order_id)
    return True


def outbox_sweep(*, min_age_seconds: float = 5) -> int:
    """Send every entry left unsent (no worker got it, or its worker died). Returns how many were sent."""
    cutoff = timezone.now() - timedelta(seconds=min_age_seconds)
    sent = 0
    pending = OutboxEntry.objects.filter(sent_at__isnull=True, created_at__lte=cutoff).order_by("pk")
    for entry_id in pending.values_list("pk", flat=True):
        try:
            sent += outbox_send(entry_id)
        except Exception:
            logger.exception("outbox entry %s could not be sent; it stays for the next sweep", entry_id)
    return sent


def outbox_retention_apply() -> int:
    """Remove entries sent more than OUTBOX_RETENTION_DAYS ago (0 keeps them); returns how many."""
    if not settings.OUTBOX_RETENTION_DAYS:
        return 0
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    removed, _ = OutboxEntry.objects.filter(sent_at__lt=cutoff).delete()
    return removed
