from datetime import datetime

from django.utils import timezone

from portfolio.models import PnlDaily
from portfolio.selectors import day_pnl_of, equity_of, positions_for_account
from trading.models import TradingAccount
from trading.orders.book import account_book
from tradingsite.ist import IST


def pnl_daily_record(*, at: datetime | None = None) -> int:
    """Keep each account's P&L and equity for the day (IST); running it again the same day updates the row."""
    at = at or timezone.now()
    count = 0
    for account in TradingAccount.objects.all():
        views = positions_for_account(account)
        day = day_pnl_of(account_book(account, at=at), views)
        PnlDaily.objects.update_or_create(
            account=account,
            date=at.astimezone(IST).date(),
            defaults={**day, "cash": account.cash, "equity": equity_of(account.cash, views)},
        )
        count += 1
    return count
