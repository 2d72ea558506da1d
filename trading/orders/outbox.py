"""The transactional outbox, the order services' side: entries are written in the order's transaction
and handed to a worker after commit. `trading.brokers.dispatch` sends them to the broker.

The hand-off (OUTBOX_DISPATCH) is a Celery task named by its registered name, so the order services
never import the task modules (tasks import services, never the reverse), or the entry's id pushed on
a Redis list that the dispatcher processes (`manage.py outbox_dispatch`) read."""

import functools

import redis
from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from trading.models import Order, OutboxEntry
from tradingsite.redis_cache import CircuitRedis

# The worker's task, by its registered name (trading.tasks.outbox_send).
OUTBOX_SEND_TASK = "trading.tasks.outbox_send"


def outbox_queue_key() -> str:
    """The Redis list of entry ids waiting for a dispatcher, under this installation's namespace."""
    return f"{settings.REDIS_NAMESPACE}:outbox"


@functools.lru_cache(maxsize=4)
def outbox_redis(url: str) -> redis.Redis:
    # Behind the same circuit as the cache: a Redis that stopped answering costs a placement no wait.
    timeout = settings.REDIS_TIMEOUT_SECONDS
    return CircuitRedis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def outbox_task_send(entry_id: int) -> None:
    """Hand one entry to a worker, the way OUTBOX_DISPATCH says."""
    if settings.OUTBOX_DISPATCH == "redis":
        outbox_redis(settings.REDIS_URL).rpush(outbox_queue_key(), entry_id)
    elif settings.OUTBOX_DISPATCH == "celery":
        current_app.send_task(OUTBOX_SEND_TASK, args=[entry_id])


def outbox_notify(entry: OutboxEntry) -> None:
    """After commit, hand the entry to a worker; with dispatch "sweep" the periodic sweep picks it up.

    The hand-off is best effort (robust): the order is already committed, and if the broker cannot be
    reached the sweep sends the entry within seconds. Failing the request here would tell the client
    an accepted order failed, inviting a duplicate.
    """
    if settings.OUTBOX_DISPATCH != "sweep":
        transaction.on_commit(lambda: outbox_task_send(entry.pk), robust=True)


def place_withdraw(order: Order) -> bool:
    """Take back an order's placement that no worker has claimed yet; True if it will now never be sent.

    A conditional UPDATE, so it cannot cross a worker's claim: either the worker has the entry (the
    order may be on its way to the broker) or it never will. A placement tried before (its answer may
    have been lost, and the order may be at the broker) is never withdrawn.
    """
    return (
        OutboxEntry.objects.filter(
            order=order,
            action=OutboxEntry.Action.PLACE,
            sent_at__isnull=True,
            claimed_at__isnull=True,
            tried_at__isnull=True,
        ).update(sent_at=timezone.now(), last_error="withdrawn before it was sent")
        > 0
    )
