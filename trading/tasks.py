import logging

from celery import shared_task

from trading.brokers import dispatch as outbox

logger = logging.getLogger(__name__)


@shared_task(
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=1,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
)
def outbox_send(entry_id: int) -> None:
    outbox.outbox_send(entry_id)


@shared_task(ignore_result=True)
def outbox_sweep() -> None:
    outbox.outbox_sweep()


@shared_task(ignore_result=True)
def paper_session_close() -> None:
    from trading.orders.sessions import day_orders_expire

    day_orders_expire()


@shared_task(ignore_result=True)
def paper_mis_squareoff() -> None:
    from trading.orders.sessions import mis_squareoff

    mis_squareoff()


@shared_task(ignore_result=True)
def idempotency_keys_purge() -> None:
    from trading.orders.idempotency import idempotency_keys_purge as purge

    purge()


@shared_task(ignore_result=True)
def bars_rollup_recent() -> None:
    """Recompute the hourly bars of the last two hours and today's daily bars from the minute bars."""
    from datetime import timedelta

    from django.utils import timezone

    from trading.market.bars import bars_rollup

    now = timezone.now()
    bars_rollup("1h", since=now - timedelta(hours=2))
    bars_rollup("1d", since=now - timedelta(days=1))


@shared_task(ignore_result=True)
def bars_maintain() -> None:
    """Minute-bar partitions ahead of time, then retention."""
    from trading.market.bars import bars_retention_apply, partitions_ensure

    partitions_ensure()
    bars_retention_apply()


@shared_task(ignore_result=True)
def kite_reconcile():
    """Every account with a live Kite session: apply what Kite did that its updates did not tell us."""
    from trading.kite.reconcile import kite_reconcile as reconcile
    from trading.models import KiteLink

    for link in KiteLink.objects.exclude(access_token_encrypted=""):
        try:
            reconcile(link)  # skips a link whose session has ended
        except Exception:  # one account's trouble must not keep the others from being reconciled
            logger.exception("Kite reconciliation of account %s failed", link.account_id)


@shared_task(ignore_result=True)
def outbox_retention():
    """Sent outbox entries past OUTBOX_RETENTION_DAYS."""
    outbox.outbox_retention_apply()
