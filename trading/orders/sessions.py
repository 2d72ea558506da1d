"""The NSE session's edges for the paper exchange: MIS square-off at 15:20 IST, DAY expiry at 15:30 IST."""

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trading.market.prices import price_last
from trading.models import Instrument, LedgerCross, Order, StrategyPosition, Trade, TradingAccount
from trading.orders import locks
from trading.orders.fills import ledgers_cross, ledgers_others
from trading.orders.services import order_cancel, order_place
from trading.orders.states import IllegalTransition
from trading.realtime import streams

SQUAREOFF_TAG = "squareoff"
logger = logging.getLogger(__name__)


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
    """Cancel live MIS orders, then close every open MIS position, as Zerodha does, on each account's
    own broker. Sub-ledgers of one position holding opposite sides (a strategy long, the manual book
    short) are first crossed against each other at the mark (`LedgerCross`): the broker holds only
    their net, so closing each with its own order would open exposure there with the first to fill.
    What remains, all on one side, is closed by one MARKET order per sub-ledger, attributed to its
    strategy, so every strategy ends the day flat in its own books and a runner that reads its
    sub-ledger sees it. One position's failure is logged and does not stop the others'. Safe to run
    again or alongside itself: a sub-ledger that already has a live closing order gets no second one,
    and the closing orders are not cancelled by a later run."""
    for order in (
        Order.objects.filter(status__in=Order.LIVE, product=Order.Product.MIS).exclude(tag=SQUAREOFF_TAG).order_by("pk")
    ):
        try:
            order_cancel(order=order, cancelled_by="system:squareoff", reason="MIS square-off")
        except IllegalTransition:
            continue  # filled or cancelled since the query
    placed = []
    open_books = StrategyPosition.objects.filter(product=Order.Product.MIS).exclude(quantity=0)
    for account_id, instrument_id in (
        open_books.values_list("account_id", "instrument_id").distinct().order_by("account_id", "instrument_id")
    ):
        try:
            placed += position_squareoff(account_id, instrument_id)
        except Exception:
            logger.exception("MIS square-off of instrument %s in account %s failed", instrument_id, account_id)
    return placed


def position_squareoff(account_id: int, instrument_id: int) -> list[Order]:
    """Cross one MIS position's opposite sub-ledgers, then close each remaining one with its own order."""
    placed = []
    with transaction.atomic():
        account = locks.account_lock(account_id)  # one closing decision per account at a time
        instrument = Instrument.objects.get(pk=instrument_id)
        position = locks.position_lock(account=account, instrument=instrument, product=Order.Product.MIS)
        books = ledgers_others(position)
        longs = [book for book in books if book.quantity > 0]
        shorts = [book for book in books if book.quantity < 0]
        if longs and shorts:
            price = squareoff_mark(position)
            at = timezone.now()
            while longs and shorts:
                seller, buyer = longs[0], shorts[0]
                quantity = min(seller.quantity, -buyer.quantity)
                ledgers_cross(
                    position=position,
                    seller=seller,
                    buyer=buyer,
                    quantity=quantity,
                    price=price,
                    reason=LedgerCross.Reason.SQUAREOFF,
                    at=at,
                )
                longs = [book for book in longs if book.quantity]
                shorts = [book for book in shorts if book.quantity]
            streams.account_event(account.owner_id, "cross", {"account": account.pk, "instrument": instrument.pk})
        for book in longs + shorts:
            closing = Order.objects.filter(
                account=account,
                instrument=instrument,
                product=Order.Product.MIS,
                strategy_id=book.strategy_id,
                tag=SQUAREOFF_TAG,
                status__in=Order.LIVE,
            )
            if closing.exists():
                continue
            try:
                with transaction.atomic():
                    placed.append(
                        order_place(
                            account=account,
                            instrument=instrument,
                            transaction_type=Order.TransactionType.SELL
                            if book.quantity > 0
                            else Order.TransactionType.BUY,
                            order_type=Order.OrderType.MARKET,
                            product=Order.Product.MIS,
                            quantity=abs(book.quantity),
                            tag=SQUAREOFF_TAG,
                            strategy=book.strategy,
                            placed_by="system:squareoff",
                            squareoff=True,
                        )
                    )
            except Exception:
                logger.exception("MIS square-off order for %s failed", book)
    return placed


def squareoff_mark(position) -> Decimal:
    """The price opposite sub-ledgers cross at: the last traded price, or where none is known, the
    position's last fill."""
    last = price_last(position.instrument)
    if last is not None:
        return last
    return (
        Trade.objects.filter(
            account_id=position.account_id, instrument_id=position.instrument_id, product=position.product
        )
        .order_by("-fill_timestamp", "-pk")
        .values_list("price", flat=True)
        .first()
    )
