"""Retention of audit events and checkpoints: AUDIT_RETENTION_DAYS (seven years by default). The other
record types keep their own retention next to them: sent outbox rows (trading.brokers.dispatch), bars
(trading.market.bars), idempotency keys (trading.orders.idempotency). Orders, trades and positions are the books.

Audit rows leave only as the oldest prefix of the chain, and the purge is itself recorded as a chained
event naming the last removed row's sequence and hash: verification then starts from that anchor, so
a purge is distinguishable from rows deleted behind the trail's back.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditCheckpoint, AuditEvent
from audit.sequencer import audit_link_all
from audit.services import CHAIN_LOCK_KEY, audit_record

PURGE_ACTION = "audit.retention_purge"


@transaction.atomic
def audit_retention_apply(now: datetime | None = None) -> dict:
    now = now or timezone.now()
    removed = {"audit_events": 0, "audit_checkpoints": 0}
    if not settings.AUDIT_RETENTION_DAYS:
        return removed
    cutoff = now - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    # The oldest prefix of the chain whose rows are all past the cutoff. Rows are linked in the order
    # they committed, so created_at can step back a little along the chain: stop before the first
    # linked row that is still within retention.
    linked = AuditEvent.objects.filter(sequence__isnull=False)
    kept = linked.filter(created_at__gte=cutoff).order_by("sequence").values_list("sequence", flat=True).first()
    prefix = linked.filter(sequence__lt=kept) if kept is not None else linked
    last = prefix.order_by("-sequence").values("sequence", "hash").first()
    if last is None:
        return removed
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('audit.purge_before', %s, true)", [cutoff.isoformat()])
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence <= %s", [last["sequence"]])
        removed["audit_events"] = cursor.rowcount
        cursor.execute(
            f"DELETE FROM {AuditCheckpoint._meta.db_table} WHERE created_at < %s AND sequence <= %s",
            [cutoff, last["sequence"]],
        )
        removed["audit_checkpoints"] = cursor.rowcount
        cursor.execute("SELECT set_config('audit.purge_before', '', true)")
    audit_record(
        action=PURGE_ACTION,
        actor="system:retention",
        object_type="audit_trail",
        payload={
            "through_sequence": last["sequence"],
            "through_hash": last["hash"],
            "before": cutoff,
            "retention_days": settings.AUDIT_RETENTION_DAYS,
            **removed,
        },
    )
    # Linked in this transaction (the chain lock is held): verification resumes from this record, so it
    # must be on the chain as soon as the rows it accounts for are gone.
    audit_link_all()
    return removed
