"""The trader's dashboard page: the day's P&L, turnover, slippage and each strategy's sub-ledger of one account."""

from decimal import Decimal

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from portfolio.selectors import (
    ledgers_for_account,
    pnl_totals,
    pnl_trend,
    portfolio_summary,
    slippage,
    traded_value_by_symbol,
)
from sentiment.models import SymbolSentiment
from sentiment.selectors import symbols_latest
from trading.orders.selectors import accounts_for_user
from trading.views import account_chosen

SENTIMENT_ROWS = 20


def bars_scaled(rows: list[dict], key: str) -> list[dict]:
    """Each row with `share`: its value's size against the largest, in percent, for a bar's length."""
    largest = max((abs(row[key]) for row in rows), default=Decimal("0"))
    return [{**row, "share": float(abs(row[key]) / largest * 100) if largest else 0.0} for row in rows]


@login_required
@permission_required("trading.view_order", raise_exception=True)
def dashboard(request):
    accounts = list(accounts_for_user(request.user))
    account = account_chosen(request, accounts)
    context = {"account": account, "accounts": accounts}
    if account is not None:
        summary = portfolio_summary(account)
        context |= {
            "summary": summary,
            "performance": summary["performance"],
            "trend": bars_scaled(pnl_trend(account, today_total=Decimal(summary["day_pnl"]["total"])), "total"),
            "turnover": bars_scaled(traded_value_by_symbol(account), "value"),
            "slippage": slippage(account),
        }
        ledgers, positions = ledgers_for_account(account)
        context |= {"ledgers": ledgers, "ledger_total": pnl_totals(positions)}
    if request.user.has_perm("sentiment.view_symbolsentiment"):
        context["sentiment"] = symbols_latest(window=SymbolSentiment.Window.DAY)[:SENTIMENT_ROWS]
    return render(request, "trading/dashboard.html", context)
