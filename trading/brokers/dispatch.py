"""Sending outbox entries to the broker, at least once, with the broker making it exactly once.

A worker claims an entry with a conditional UPDATE (so two workers never send it at the same time),
calls the broker, then marks it sent. A worker that dies after claiming leaves the claim to time
out; the sweep then sends it again. Re-sending is safe because the broker is keyed by the order's
client order id: the paper exchange finds its first entry, and Kite is asked by tag first.
"""

import logging
import threading
from contextlib import nullcontext
from datetime import timedelta

import redis
from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from trading.brokers import BrokerUnavailable, broker_for
from trading.models import Order, OutboxEntry
from trading.orders.outbox import outbox_queue_key, outbox_redis, outbox_task_send
from tradingsite.circuit import CircuitOpen, circuit
from tradingsite.heartbeat import beat
from tradingsite.rows import rows_fetch
from tradingsite.tracing import span, tracing_on

logger = logging.getLogger(__name__)


# Claim an entry if it is unsent and unclaimed (or its claim went stale) and no earlier entry of its
# order is still unsent, in one statement: a conditional UPDATE, so two workers never both have it.
# Several entries at once: a dispatcher claims the ids it took from the list together.
CLAIM_SQL = f"""
UPDATE {OutboxEntry._meta.db_table} e
   SET claimed_at = %(now)s, attempts = e.attempts + 1
 WHERE e.id = ANY(%(ids)s) AND e.sent_at IS NULL AND (e.claimed_at IS NULL OR e.claimed_at < %(stale)s)
   AND NOT EXISTS (
       SELECT 1 FROM {OutboxEntry._meta.db_table} earlier
        WHERE earlier.order_id = e.order_id AND earlier.sent_at IS NULL AND earlier.id < e.id)
RETURNING e.id, e.order_id, e.action
"""

# Mark an entry sent while this worker's claim still holds, and name the order's next entry still
# waiting (the subquery sees the table as it was before this statement, so the entry is left out by id).
SENT_SQL = f"""
UPDATE {OutboxEntry._meta.db_table} e SET sent_at = %(now)s, last_error = ''
 WHERE e.id = %(id)s AND e.claimed_at = %(claimed_at)s
RETURNING (SELECT min(n.id) FROM {OutboxEntry._meta.db_table} n
            WHERE n.order_id = e.order_id AND n.sent_at IS NULL AND n.id <> e.id)
"""

# Renew this worker's claim (an entry that waited its turn in a batch): it fails if the claim was lost.
RENEW_SQL = f"""
UPDATE {OutboxEntry._meta.db_table} SET claimed_at = %(now)s
 WHERE id = %(id)s AND claimed_at = %(claimed_at)s AND sent_at IS NULL
RETURNING id
"""

# Give back claims this worker holds, for a retry at once (by the sweep, or a dispatcher handed the id).
RELEASE_SQL = f"""
UPDATE {OutboxEntry._meta.db_table} SET claimed_at = NULL, last_error = %(error)s
 WHERE id = ANY(%(ids)s) AND claimed_at = %(claimed_at)s AND sent_at IS NULL
"""


class ClaimLost(Exception):
    """The entry's claim went stale while this worker held it, and another may be sending it."""


def outbox_claim(entry_ids: list[int], now) -> dict[int, tuple[int, str]]:
    """Of these entries, those this worker now has, claimed at `now`: entry id to (order id, action)."""
    stale = now - timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, {"now": now, "stale": stale, "ids": list(entry_ids)})
        return {entry_id: (order_id, action) for entry_id, order_id, action in cursor.fetchall()}


def claims_release(entry_ids, claimed_at, error: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(RELEASE_SQL, {"ids": list(entry_ids), "claimed_at": claimed_at, "error": error[:2000]})


def outbox_send(entry_id: int) -> bool:
    """Send one entry if it is unsent and unclaimed (or its claim went stale), and no earlier entry of
    its order is still unsent: an order's entries go out one at a time, in order (place, then modify,
    then cancel), so a cancel never overtakes the placement it cancels (the one sent hands on the next,
    once it is marked sent). True when sent now.

    A broker that lives in this database (the paper exchange) takes the entry in the same transaction
    that marks it sent: acceptance, fills and the sent mark commit together or not at all. A remote
    broker (Kite) is called outside any transaction, and the entry is marked sent after its answer.
    """
    return bool(outbox_send_many([entry_id], errors="raise"))


def outbox_send_many(entry_ids: list[int], *, errors: str = "log") -> int:
    """Send these entries as `outbox_send` sends one, claimed together and their orders read together;
    returns how many were sent now. A failed send is logged and left to the sweep (`errors="log"`), or
    raised (`errors="raise"`). Either way its claim is given back, as is the claim of every entry the
    batch did not get to (the database went away, say), so nothing waits out the claim timeout."""
    claimed_at = timezone.now()
    claimed = outbox_claim(list(dict.fromkeys(entry_ids)), claimed_at)  # an id handed over twice: once
    if not claimed:
        return 0
    waiting = dict(claimed)
    sent = 0
    try:
        order_ids = sorted({order_id for order_id, _ in claimed.values()})
        where = "t.id = ANY(%s)"
        orders = {order.pk: order for order in rows_fetch(Order, where, [order_ids], related=("account", "instrument"))}
        # Each entry's trace context, to continue its order's trace (read only when tracing is on).
        traces = {}
        if tracing_on():
            traces = dict(OutboxEntry.objects.filter(pk__in=list(claimed)).values_list("pk", "trace_context"))
        for entry_id, (order_id, action) in claimed.items():
            del waiting[entry_id]
            try:
                with span("order.send", parent=traces.get(entry_id, ""), **{"order.id": order_id, "action": action}):
                    following = entry_send(entry_id, orders[order_id], action, claimed_at)
            except BrokerUnavailable as exc:
                if errors == "raise":
                    raise
                logger.warning("outbox entry %s waits: %s", entry_id, exc, extra={"order_id": order_id})
                continue
            except Exception:
                if errors == "raise":
                    raise
                logger.exception(
                    "outbox entry %s could not be sent; the sweep retries it", entry_id, extra={"order_id": order_id}
                )
                continue
            sent += 1
            if following is not None and settings.OUTBOX_DISPATCH != "sweep":
                try:
                    outbox_task_send(following)
                except Exception:  # best effort, as at placement: the sweep finds it
                    logger.exception("outbox entry %s could not be handed on; the sweep sends it", following)
    finally:
        if waiting:
            try:
                claims_release(waiting, claimed_at, "released unsent: its batch stopped before it")
            except Exception:  # the database is away: the claims go stale and the sweep takes them
                logger.exception("claims of outbox entries %s could not be given back", list(waiting))
    return sent


def entry_send(entry_id: int, order: Order, action: str, claimed_at) -> int | None:
    """Send an entry this worker claimed at `claimed_at` and mark it sent; returns the order's next
    waiting entry, if any. An entry that waited in its batch for a good part of the claim timeout has
    its claim renewed first, or is skipped (ClaimLost) when another worker took it over."""
    broker = broker_for(order.account)
    try:
        now = timezone.now()
        if now - claimed_at > timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS / 2):
            with connection.cursor() as cursor:
                cursor.execute(RENEW_SQL, {"now": now, "id": entry_id, "claimed_at": claimed_at})
                if cursor.fetchone() is None:
                    raise ClaimLost(f"outbox entry {entry_id} was taken over while it waited in its batch")
            claimed_at = now
        with transaction.atomic() if getattr(broker, "in_database", False) else nullcontext():
            broker_call(broker, order, action)
            with connection.cursor() as cursor:
                cursor.execute(SENT_SQL, {"now": timezone.now(), "id": entry_id, "claimed_at": claimed_at})
                row = cursor.fetchone()
            if row is None:  # for the paper exchange this rolls the send back; Kite dedupes by tag
                raise ClaimLost(f"outbox entry {entry_id} was taken over while this worker sent it")
            return row[0]
    except ClaimLost:
        raise  # the claim is another worker's now: nothing to give back
    except Exception as exc:
        # Give back the claim so a retry (task backoff or the sweep) can take it at once.
        claims_release([entry_id], claimed_at, f"{type(exc).__name__}: {exc}")
        raise


def broker_call(broker, order: Order, action: str) -> None:
    """Call the broker; a remote one through its circuit breaker (tradingsite/circuit.py), so a broker that
    stopped answering is not called again, each call waiting out its timeout, until the circuit's pause is
    over. Meanwhile the entry waits in the outbox with the reason as its last error (the order's
    `broker_waiting`), and the sweep sends it once the circuit lets calls through again. What counts
    against the broker is its `outage(exc)`; a send that never reached it (`answered` false) counts for
    nothing."""
    if getattr(broker, "in_database", False):
        getattr(broker, action)(order)
        return
    breaker = circuit(getattr(broker, "circuit_name", f"broker.{order.account.broker}"))
    try:
        with breaker.call(broker.outage, answered=lambda: getattr(broker, "answered", True)):
            getattr(broker, action)(order)
    except CircuitOpen:
        raise BrokerUnavailable(
            f"{order.account.get_broker_display()} is not answering ({breaker.threshold} tries in a row failed); "
            f"the order waits and is sent by itself when it answers again"
        ) from None


def outbox_sweep(*, min_age_seconds: float = 5) -> int:
    """Send every entry left unsent (no worker got it, or its worker died). Returns how many were sent."""
    cutoff = timezone.now() - timedelta(seconds=min_age_seconds)
    sent = 0
    pending = OutboxEntry.objects.filter(sent_at__isnull=True, created_at__lte=cutoff).order_by("pk")
    for entry_id in pending.values_list("pk", flat=True):
        try:
            sent += outbox_send(entry_id)
        except BrokerUnavailable as exc:
            logger.warning("outbox entry %s waits for the next sweep: %s", entry_id, exc)
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


def outbox_dispatch_run(stop: threading.Event, *, batch: int = 10, wait_seconds: float = 1.0) -> None:
    """Send the entries handed over on the Redis list (OUTBOX_DISPATCH=redis) until `stop` is set.

    Any number of these may run: the claim lets one of them have each entry. Each takes at most `batch`
    ids at a time, so a slow broker call holds back few others. An entry whose send fails is left to
    the sweep, which retries it within seconds; so is one whose id was lost (a dispatcher killed with ids
    in hand, or Redis restarted).
    """
    client = outbox_redis(settings.REDIS_URL)
    key = outbox_queue_key()
    while not stop.is_set():
        beat("dispatcher")
        try:
            first = client.blpop([key], timeout=wait_seconds)
            if first is None:
                continue
            ids = [first[1], *(client.lpop(key, batch - 1) or [])]
        except redis.RedisError:
            logger.exception("the outbox list cannot be read; retrying")
            stop.wait(wait_seconds)
            continue
        close_old_connections()
        try:
            outbox_send_many([int(entry_id) for entry_id in ids])
        except Exception:  # the claim or the read failed (the database is away): the sweep sends them
            logger.exception("outbox entries %s could not be claimed; the sweep retries them", ids)
