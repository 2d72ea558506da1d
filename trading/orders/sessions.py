"""The NSE session's edges for the paper exchange: MIS square-off at 15:20 IST, DAY expiry at 15:30 IST."""

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from audit.services import audit_record
from trading.market.prices import price_last
from trading.models import Instrument, LedgerCross, Order, StrategyPosition, TradingAccount
from trading.orders import locks
from trading.orders.fills import ledgers_cross, ledgers_others
from trading.orders.selectors import position_last_fill
from trading.orders.services import order_cancel, order_place
from trading.orders.states import IllegalTransition
from trading.realtime import streams
from tradingsite.ist import ist_day_start

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
    sub-ledger sees it. Safe to run again or alongside itself: what a sub-ledger's live closing order
    will still close counts as closed, so nothing is closed twice. A position whose square-off fails is
    logged and audited, and the others go on; the failures are raised together at the end."""
    for order in (
        Order.objects.filter(status__in=Order.LIVE, product=Order.Product.MIS).exclude(tag=SQUAREOFF_TAG).order_by("pk")
    ):
        try:
            order_cancel(order=order, cancelled_by="system:squareoff", reason="MIS square-off")
        except IllegalTransition:
            continue  # filled or cancelled since the query
    placed, failed = [], []
    open_books = StrategyPosition.objects.filter(product=Order.Product.MIS).exclude(quantity=0)
    for account_id, instrument_id in (
        open_books.values_list("account_id", "instrument_id").distinct().order_by("account_id", "instrument_id")
    ):
        try:
            orders, errors = position_squareoff(account_id, instrument_id)
        except Exception as exc:
            logger.exception("MIS square-off of instrument %s in account %s failed", instrument_id, account_id)
            orders, errors = [], [str(exc)]
        placed += orders
        if errors:
            failed.append(f"instrument {instrument_id} in account {account_id}: {'; '.join(errors)}")
            audit_record(
                action="squareoff.failed",
                actor="system:squareoff",
                object_type="trading_account",
                object_id=account_id,
                payload={"instrument": instrument_id, "errors": [error[:500] for error in errors]},
            )
    if failed:
        raise SquareoffFailed("MIS square-off failed for " + "; ".join(failed))
    return placed


class SquareoffFailed(Exception):
    pass


def position_squareoff(account_id: int, instrument_id: int) -> tuple[list[Order], list[str]]:
    """Cross one MIS position's opposite sub-ledgers, then close what each has left with its own order;
    the orders placed, and what failed.

    A sub-ledger's open quantity here is net of what its live closing orders will still close."""
    with transaction.atomic():
        account = locks.account_lock(account_id)  # one closing decision per account at a time
        instrument = Instrument.objects.get(pk=instrument_id)
        position = locks.position_lock(account=account, instrument=instrument, product=Order.Product.MIS)
        books = ledgers_others(position)
        closing = closing_pending(account, instrument)
        left = {book.pk: book.quantity - closing.get(book.strategy_id, 0) for book in books}
        longs = [book for book in books if left[book.pk] > 0]
        shorts = [book for book in books if left[book.pk] < 0]
        price = squareoff_mark(position) if longs and shorts else None
        if price is not None:  # with no price at all, each book is closed on its own, as before crosses
            at = timezone.now()
            while longs and shorts:
                seller, buyer = longs[0], shorts[0]
                quantity = min(left[seller.pk], -left[buyer.pk])
                ledgers_cross(
                    position=position,
                    seller=seller,
                    buyer=buyer,
                    quantity=quantity,
                    price=price,
                    reason=LedgerCross.Reason.SQUAREOFF,
                    at=at,
                )
                left[seller.pk] -= quantity
                left[buyer.pk] += quantity
                longs = [book for book in longs if left[book.pk]]
                shorts = [book for book in shorts if left[book.pk]]
            streams.account_event(account.owner_id, "cross", {"account": account.pk, "instrument": instrument.pk})
        placed, errors = [], []
        for book in books:
            if not left[book.pk]:
                continue
            try:
                with transaction.atomic():  # one book's failure undoes its own order only
                    placed.append(
                        order_place(
                            account=account,
                            instrument=instrument,
                            transaction_type=Order.TransactionType.SELL
                            if left[book.pk] > 0
                            else Order.TransactionType.BUY,
                            order_type=Order.OrderType.MARKET,
                            product=Order.Product.MIS,
                            quantity=abs(left[book.pk]),
                            tag=SQUAREOFF_TAG,
                            strategy=book.strategy,
                            placed_by="system:squareoff",
                            squareoff=True,
                        )
                    )
            except Exception as exc:
                logger.exception("MIS square-off order for %s failed", book)
                errors.append(f"{book}: {exc}")
    return placed, errors


def closing_pending(account, instrument) -> dict[int | None, int]:
    """Per strategy (None: manual), the signed quantity its live closing orders will still trade."""
    pending: dict[int | None, int] = {}
    live = Order.objects.filter(
        account=account, instrument=instrument, product=Order.Product.MIS, tag=SQUAREOFF_TAG, status__in=Order.LIVE
    )
    for strategy_id, side, quantity, filled in live.values_list(
        "strategy_id", "transaction_type", "quantity", "filled_quantity"
    ):
        signed = quantity - filled if side == Order.TransactionType.SELL else filled - quantity
        pending[strategy_id] = pending.get(strategy_id, 0) + signed
    return pending


def squareoff_mark(position) -> Decimal | None:
    """The price opposite sub-ledgers cross at: the latest traded price if it is today's, else the
    position's last fill; None where there is neither."""
    instrument = position.instrument
    if instrument.last_price_at is not None and instrument.last_price_at >= ist_day_start():
        return price_last(instrument)  # the cache's, seconds old, or the database's copy of it
    return position_last_fill(position)
