"""The NSE session's edges for the paper exchange: MIS square-off at 15:20 IST, DAY expiry at 15:30 IST."""

from django.db import transaction

from trading.models import Order, StrategyPosition, TradingAccount
from trading.orders import locks
from trading.orders.services import order_cancel, order_place
from trading.orders.states import IllegalTransition

SQUAREOFF_TAG = "squareoff"


def day_orders_expire() -> int:
    """Cancel every live DAY order on paper accounts at the close."""
    live = Order.objects.filter(
        status__in=Order.LIVE, validity=Order.Validity.DAY, account__broker=TradingAccount.Broker.PAPER
    )
    count = 0
    for order in live.order_by("pk"):
        order_cancel(order=order, cancelled_by="system:session_close", reason="DAY order expired at market close")
        count += 1
    return count


def mis_squareoff() -> list[Order]:
    """Cancel live MIS orders, then close every open MIS position with a MARKET order, as Zerodha does,
    on each account's own broker. Each sub-ledger (a strategy's share, or the orders placed by hand) is
    closed by its own order, attributed to its strategy, so every strategy ends the day flat in its own
    books, and a runner that reads its sub-ledger sees it. Safe to run again or alongside itself: a
    sub-ledger that already has a live closing order gets no second one, and the closing orders are not
    cancelled by a later run."""
    for order in (
        Order.objects.filter(status__in=Order.LIVE, product=Order.Product.MIS).exclude(tag=SQUAREOFF_TAG).order_by("pk")
    ):
        try:
            order_cancel(order=order, cancelled_by="system:squareoff", reason="MIS square-off")
        except IllegalTransition:
            continue  # filled or cancelled since the query
    placed = []
    ledgers = StrategyPosition.objects.filter(product=Order.Product.MIS).exclude(quantity=0)
    for ledger_id, account_id in ledgers.order_by("pk").values_list("pk", "account_id"):
        with transaction.atomic():
            account = locks.account_lock(account_id)  # one closing decision per account at a time
            ledger = StrategyPosition.objects.select_related("instrument", "strategy").get(pk=ledger_id)
            closing = Order.objects.filter(
                account=account,
                instrument=ledger.instrument,
                product=Order.Product.MIS,
                strategy=ledger.strategy,
                tag=SQUAREOFF_TAG,
                status__in=Order.LIVE,
            )
            if ledger.quantity == 0 or closing.exists():
                continue
            placed.append(
                order_place(
                    account=account,
                    instrument=ledger.instrument,
                    transaction_type=Order.TransactionType.SELL if ledger.quantity > 0 else Order.TransactionType.BUY,
                    order_type=Order.OrderType.MARKET,
                    product=Order.Product.MIS,
                    quantity=abs(ledger.quantity),
                    tag=SQUAREOFF_TAG,
                    strategy=ledger.strategy,
                    placed_by="system:squareoff",
                    squareoff=True,
                )
            )
    return placed
