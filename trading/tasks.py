"""Celery tasks: each names a job for the worker and beat and calls one service, nothing more.

Their names (trading.tasks.<name>) are what beat's stored schedule and the outbox's hand-off use."""

from celery import shared_task

from trading.brokers.dispatch import outbox_retention_apply
from trading.brokers.dispatch import outbox_send as outbox_entry_send
from trading.brokers.dispatch import outbox_sweep as outbox_entries_sweep
from trading.kite.reconcile import kite_reconcile_all
from trading.market import bars
from trading.orders import idempotency, sessions


@shared_task(
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
)
def outbox_send(entry_id: int) -> None:
    outbox_entry_send(entry_id)


@shared_task(ignore_result=True)
def outbox_sweep() -> None:
    outbox_entries_sweep()


@shared_task(ignore_result=True)
def paper_session_close() -> None:
    sessions.day_orders_expire()


@shared_task(ignore_result=True)
def paper_mis_squareoff() -> None:
    sessions.mis_squareoff()


@shared_task(ignore_result=True)
def idempotency_keys_purge() -> None:
    idempotency.idempotency_keys_purge()


@shared_task(ignore_result=True)
def bars_rollup_recent() -> None:
    bars.bars_rollup_recent()


@shared_task(ignore_result=True)
def bars_maintain() -> None:
    bars.bars_maintain()


@shared_task(ignore_result=True)
def kite_reconcile():
    kite_reconcile_all()


@shared_task(ignore_result=True)
def outbox_retention():
    outbox_retention_apply()
