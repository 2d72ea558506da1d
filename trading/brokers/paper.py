"""The paper exchange: fills orders against the last traded price the way NSE would.

MARKET orders fill at the last price moved against the trader by the slippage setting; LIMIT orders
fill at once if marketable, else rest until a tick crosses their price; SL and SL-M orders wait for
their trigger; IOC cancels whatever does not fill at once. With a volume participation set, one
tick fills at most that share of its traded volume, so large orders fill in parts.
"""

import itertools
import time
from decimal import Decimal

from django.conf import settings
from django.db import connection

from trading.market import execution
from trading.market.prices import price_last
from trading.models import Instrument, Order, PaperExchangeOrder, TradingAccount
from trading.orders import fills, services, states

BUY = Order.TransactionType.BUY
_ids = itertools.count()


def market_price(order: Order, last: Decimal) -> Decimal:
    return execution.slipped(
        last,
        buying=order.transaction_type == BUY,
        slippage_bps=settings.PAPER_SLIPPAGE_BPS,
        tick=order.instrument.tick_size,
    )


def fillable_quantity(order: Order, volume: int | None) -> int:
    return execution.fillable_quantity(
        remaining=order.quantity - order.filled_quantity,
        volume=volume,
        participation=settings.PAPER_MAX_VOLUME_PARTICIPATION,
        lot=order.instrument.lot_size,
    )


def match(order: Order, last: Decimal, volume: int | None, *, arriving: bool) -> None:
    """Fill what this price allows; `arriving` is the order's first look at the market. The price is
    the execution model's for a bar of one price, as the backtester's is for a whole bar."""
    buying = order.transaction_type == BUY
    point = execution.Bar.point(last)
    if order.status == Order.Status.TRIGGER_PENDING:
        if execution.trigger_point(buying=buying, trigger=order.trigger_price, bar=point) is None:
            return
        if order.order_type == Order.OrderType.SL:
            order = services.order_trigger(order=order)
        arriving = True  # just triggered: it meets the market now, like a newly placed order
    price = execution.fill_price(
        buying=buying,
        market=order.order_type in (Order.OrderType.MARKET, Order.OrderType.SLM),
        limit=order.price,
        bar=point,
        arriving=arriving,
        slippage_bps=settings.PAPER_SLIPPAGE_BPS,
        tick=order.instrument.tick_size,
    )
    quantity = fillable_quantity(order, volume) if price is not None else 0
    if quantity:
        trade = fills.fill_apply(order=order, quantity=quantity, price=price)
        order = trade.order if trade is not None else order  # the order as the fill left it
    if order.validity == Order.Validity.IOC and order.is_live:
        services.order_cancel(order=order, reason="IOC: unfilled quantity cancelled")


BOOK_SQL = f"""
INSERT INTO {PaperExchangeOrder._meta.db_table} (client_order_id, exchange_order_id, submissions, created_at)
VALUES (%s, %s, 1, now())
ON CONFLICT (client_order_id) DO UPDATE SET submissions = {PaperExchangeOrder._meta.db_table}.submissions + 1
RETURNING exchange_order_id
"""


class PaperExchange:
    # It lives in the platform's database: the outbox's dispatcher sends to it inside the transaction
    # that marks the entry sent.
    in_database = True

    def place(self, order: Order) -> None:
        if order.status != Order.Status.RECEIVED:
            return  # cancelled before it was sent, or already accepted by an earlier send
        latency = settings.PAPER_SUBMIT_LATENCY_MS
        if latency:
            time.sleep(latency / 1000)
        exchange_order_id = self.book(order)
        status = Order.Status.TRIGGER_PENDING if order.trigger_price else Order.Status.OPEN
        order = services.order_broker_accept(order=order, broker_order_id=exchange_order_id, status=status)
        if not order.is_live:
            return  # cancelled while it was on its way: the exchange keeps its id, nothing trades
        last = price_last(order.instrument)
        if last is None:
            if order.order_type == Order.OrderType.MARKET:
                services.order_broker_reject(order=order, reason=f"no market price for {order.instrument}")
            return
        match(order, last, order.instrument.last_volume, arriving=True)

    def book(self, order: Order) -> str:
        """Enter the order in the exchange's book once; a re-send finds the first entry (and is counted).
        Returns the exchange's order id."""
        exchange_order_id = f"P{time.time_ns()}{next(_ids) % 1000:03d}"
        with connection.cursor() as cursor:
            cursor.execute(BOOK_SQL, [order.client_order_id, exchange_order_id])
            return cursor.fetchone()[0]

    def modify(self, order: Order) -> None:
        # The book is the order table itself: new terms apply from the next tick; a modification
        # that makes the order marketable fills now.
        last = price_last(order.instrument)
        if order.is_live and last is not None and order.status != Order.Status.RECEIVED:
            match(order, last, order.instrument.last_volume, arriving=True)

    def cancel(self, order: Order) -> None:
        """Cancelled in the order table already; nothing rests anywhere else."""


def paper_tick(*, instrument: Instrument, price: Decimal, volume: int = 0) -> int:
    """A trade printed at `price`: record it and work every resting paper order in the instrument.

    Returns how many orders were looked at.
    """
    from trading.market.prices import price_record

    price_record(instrument=instrument, price=price, volume=volume)
    return resting_orders_work(instrument_id=instrument.pk, price=price, volume=volume)


def resting_orders_work(*, instrument_id: int, price: Decimal, volume: int = 0) -> int:
    """Match every resting paper order in the instrument against a trade at `price`; the feed process
    calls this on each tick (it records prices itself, in bulk). Returns how many orders were looked at."""
    resting = (
        Order.objects.filter(
            instrument_id=instrument_id,
            status__in=(Order.Status.OPEN, Order.Status.TRIGGER_PENDING),
            account__broker=TradingAccount.Broker.PAPER,
        )
        .select_related("instrument")
        .order_by("created_at", "pk")
    )
    count = 0
    for order in resting:
        count += 1
        try:
            match(order, price, volume, arriving=False)
        except states.IllegalTransition:
            continue  # cancelled or filled by someone else between the query and the lock
    return count


def instruments_with_resting_orders() -> set[int]:
    return set(
        Order.objects.filter(
            status__in=(Order.Status.OPEN, Order.Status.TRIGGER_PENDING),
            account__broker=TradingAccount.Broker.PAPER,
        )
        .values_list("instrument_id", flat=True)
        .distinct()
    )
