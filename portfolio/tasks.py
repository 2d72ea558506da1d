from celery import shared_task

from portfolio.services import pnl_daily_record


@shared_task(ignore_result=True)
def pnl_daily() -> None:
    pnl_daily_record()
