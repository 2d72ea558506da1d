"""The trader's pages: server-rendered, with the live parts in static/trading/trade.js.

Pages read through the same selectors as the API; everything they change goes through the API, so
a page can do nothing an integrator's script could not.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.middleware.csrf import get_token
from django.shortcuts import render

from trading.apis.accounts import AccountOutput
from trading.kite.client import kite_session_live
from trading.models import Instrument, KiteLink, Order, TradingAccount
from trading.orders.selectors import accounts_for_user

WATCHLIST_SIZE = 50
# The trade page's ES modules, preloaded by the page so the browser fetches them at once, not one import
# level at a time.
TRADE_MODULES = [
    f"trading/js/{name}.js"
    for name in ("trade", "api", "blotter", "chart", "depth", "money", "positions", "stream", "ticket", "ui", "watch")
]


def account_chosen(request, accounts: list[TradingAccount]) -> TradingAccount | None:
    """The account named by ?account=, else the first; an id that is not the user's own is ignored."""
    wanted = request.GET.get("account", "")
    return next((a for a in accounts if str(a.pk) == wanted), accounts[0] if accounts else None)


def instrument_row(instrument: Instrument) -> dict:
    return {
        "token": instrument.instrument_token,
        "symbol": instrument.tradingsymbol,
        "exchange": instrument.exchange,
        "name": instrument.name,
        "tick": str(instrument.tick_size.normalize()),
        "lot": instrument.lot_size,
    }


@login_required
@permission_required("trading.view_order", raise_exception=True)
def trade(request):
    accounts = list(accounts_for_user(request.user))
    account = account_chosen(request, accounts)
    user = request.user
    # The starting watchlist: instruments the feed prices, then the user adds any instrument by symbol.
    watchlist = Instrument.objects.filter(last_price__isnull=False).order_by("tradingsymbol")[:WATCHLIST_SIZE]
    boot = {
        "account": AccountOutput(account).data if account else None,
        "accounts": [{"id": a.pk, "name": a.name} for a in accounts],
        "instruments": [instrument_row(i) for i in watchlist],
        "choices": {
            "transaction_type": Order.TransactionType.values,
            "order_type": Order.OrderType.values,
            "product": Order.Product.values,
            "validity": Order.Validity.values,
        },
        "live_statuses": sorted(Order.LIVE),
        "can": {
            "place": user.has_perm("trading.add_order"),
            "cancel": user.has_perm("trading.change_order"),
            "halt": user.has_perm("trading.change_order"),
            "resume": user.has_perm("trading.change_tradingaccount"),
        },
        "csrf": get_token(request),
        # Orders worth this much or more ask for a confirmation before they are sent.
        "confirm_above": str(settings.ORDER_CONFIRM_VALUE),
    }
    kite_login_needed = False
    if account is not None and account.broker == TradingAccount.Broker.KITE:
        link = KiteLink.objects.filter(account=account).first()
        kite_login_needed = link is None or not kite_session_live(link)
    context = {"boot": boot, "account": account, "accounts": accounts, "kite_login_needed": kite_login_needed}
    context["sentiment_analyzer"] = settings.SENTIMENT_ANALYZER
    context["show_news"] = user.has_perm("sentiment.view_article") and user.has_perm("sentiment.view_symbolsentiment")
    context["modules"] = TRADE_MODULES
    return render(request, "trading/trade.html", context)
