from datetime import datetime

from django.utils import timezone

from portfolio.models import PnlDaily
from portfolio.selectors import pnl_day
from trading.models import TradingAccount
from tradingsite.ist import IST


def pnl_daily_record(*, at: datetime | None = None) -> int:
    """Keep each account's P&L for the day (IST); running it again the same day updates the row."""
    at = at or timezone.now()
    count = 0
    for account in TradingAccount.objects.all():
        day = pnl_day(account, at=at)
        PnlDaily.objects.update_or_create(
            account=account,
            date=at.astimezone(IST).date(),
            defaults={**day, "cash": account.cash},
        )
        count += 1
    return count
