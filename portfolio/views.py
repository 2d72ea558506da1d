"""The trader's dashboard page: the day's and net P&L, equity and drawdown day by day, turnover and P&L by
symbol and by strategy, slippage, and each strategy's sub-ledger of one account."""

from decimal import Decimal

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from portfolio.selectors import (
    equity_of,
    ledgers_for_account,
    max_drawdown,
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


def charts_data(trend: list[dict], turnover: list[dict], ledgers: list) -> dict:
    """What dashboard.js draws, embedded in the page (json_script): money as decimal strings, which the
    script reads exactly (money.js), dates as ISO days."""
    return {
        "days": [
            {"date": day["date"], "equity": day["equity"], "pnl": day["total"], "drawdown": day["drawdown"]}
            for day in trend
        ],
        "symbols": [
            {"symbol": f"{row['exchange']}:{row['tradingsymbol']}", "value": row["value"], "net": row["net"]}
            for row in turnover
        ],
        "strategies": [{"name": ledger.name, "net": ledger.totals["net"]} for ledger in ledgers],
    }


@login_required
@permission_required("trading.view_order", raise_exception=True)
def dashboard(request):
    accounts = list(accounts_for_user(request.user))
    account = account_chosen(request, accounts)
    context = {"account": account, "accounts": accounts}
    if account is not None:
        # The positions are marked once, and every figure on the page is read from that one marking.
        ledgers, positions = ledgers_for_account(account)
        summary = portfolio_summary(account, views=positions)
        trend = pnl_trend(
            account,
            today_total=Decimal(summary["day_pnl"]["total"]),
            today_equity=equity_of(account.cash, positions),
        )
        turnover = traded_value_by_symbol(account, views=positions)
        context |= {
            "summary": summary,
            "performance": summary["performance"],
            "trend": trend,
            "max_drawdown": max_drawdown(trend),
            "turnover": turnover,
            "slippage": slippage(account),
            "ledgers": ledgers,
            "ledger_total": pnl_totals(positions),
            "charts": charts_data(trend, turnover, ledgers),
        }
    if request.user.has_perm("sentiment.view_symbolsentiment"):
        context["sentiment"] = symbols_latest(window=SymbolSentiment.Window.DAY)[:SENTIMENT_ROWS]
    return render(request, "trading/dashboard.html", context)
