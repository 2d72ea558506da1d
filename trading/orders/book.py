"""The account book the risk checks read: open positions, working orders and today's results, in one
query under the account's lock. Portfolio reads it too, for the day's P&L."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from trading.models import Instrument, LedgerCross, Order, Position, Trade, TradingAccount
from tradingsite.ist import ist_day_start

ZERO = Decimal("0")


@dataclass
class InstrumentExposure:
    quantity: int = 0  # net position across products
    pending_buy: int = 0
    pending_sell: int = 0

    def worst_case(self) -> int:
        return max(abs(self.quantity + self.pending_buy), abs(self.quantity - self.pending_sell))


@dataclass(frozen=True)
class BookPosition:
    instrument_id: int
    product: str
    quantity: int
    average_price: Decimal
    mark: Decimal
    open_cost: Decimal = ZERO  # signed, as on the position: unrealised P&L is quantity x mark - open_cost


@dataclass(frozen=True)
class BookWorking:
    """Live orders of one instrument, side, product and type, summed; value at their reference price."""

    instrument_id: int
    transaction_type: str
    product: str
    pending: int
    value: Decimal


@dataclass
class AccountBook:
    """An account's open positions, working orders and today's results, read once for the risk checks.

    Read with the account row locked, it is exact: nothing else can change the account meanwhile.
    Marks are the database's last prices (every price the feed records is written there too), or where
    an instrument has none, the position's last fill, as on the portfolio's pages.
    """

    account: TradingAccount
    positions: list[BookPosition]
    working: list[BookWorking]
    realised_today: Decimal  # fills' and the square-off's sub-ledger crosses' (a delivery cross is in its fill's)
    charges_today: Decimal
    orders_last_second: int = 0  # placed in the second before the book was read (the order-rate rule)

    def exposures(self) -> dict[int, InstrumentExposure]:
        exposures: dict[int, InstrumentExposure] = defaultdict(InstrumentExposure)
        for position in self.positions:
            exposures[position.instrument_id].quantity += position.quantity
        for group in self.working:
            if group.transaction_type == Order.TransactionType.BUY:
                exposures[group.instrument_id].pending_buy += group.pending
            else:
                exposures[group.instrument_id].pending_sell += group.pending
        return exposures

    def marks(self) -> dict[int, Decimal]:
        # A flat row (opposite strategy books) with neither a last price nor a fill is marked at its
        # average, 0: no price to lend to the instrument's working orders.
        marks = {p.instrument_id: p.mark for p in self.positions if p.quantity or p.mark}
        for group in self.working:
            if group.pending and group.instrument_id not in marks:
                marks[group.instrument_id] = group.value / group.pending
        return marks

    def funds_blocked(self) -> Decimal:
        """Margin held by open MIS positions and by working orders that may still fill."""
        leverage = self.account.mis_leverage
        blocked = sum(
            # At cost; where opposite sub-ledgers leave the net's average meaningless (not above 0), at the mark.
            (
                abs(p.quantity) * (p.average_price if p.average_price > 0 else p.mark) / leverage
                for p in self.positions
                if p.product == Order.Product.MIS
            ),
            ZERO,
        )
        for group in self.working:
            if group.product == Order.Product.MIS:
                blocked += group.value / leverage
            elif group.transaction_type == Order.TransactionType.BUY:
                blocked += group.value
        return blocked.quantize(Decimal("0.01"))

    def cnc_sellable(self, instrument_id: int) -> int:
        held = sum(
            p.quantity for p in self.positions if p.instrument_id == instrument_id and p.product == Order.Product.CNC
        )
        selling = sum(
            g.pending
            for g in self.working
            if g.instrument_id == instrument_id
            and g.product == Order.Product.CNC
            and g.transaction_type == Order.TransactionType.SELL
        )
        return held - selling

    def unrealised(self) -> Decimal:
        return sum((p.quantity * p.mark - p.open_cost for p in self.positions), ZERO).quantize(Decimal("0.01"))

    def day_total(self) -> Decimal:
        return self.realised_today + self.unrealised() - self.charges_today


# One round trip for the whole book: it is read on every order, with the account row locked, and
# building it through the ORM cost three times what PostgreSQL spends answering it.
ACCOUNT_BOOK_SQL = f"""
SELECT 'position', p.instrument_id, p.product, '', p.quantity::bigint, p.average_price,
       COALESCE(i.last_price, (SELECT t.price FROM {Trade._meta.db_table} t
                                WHERE t.account_id = p.account_id AND t.instrument_id = p.instrument_id
                                  AND t.product = p.product
                                ORDER BY t.fill_timestamp DESC, t.id DESC LIMIT 1)),
       p.open_cost
  FROM {Position._meta.db_table} p JOIN {Instrument._meta.db_table} i ON i.id = p.instrument_id
 WHERE p.account_id = %(account)s AND (p.quantity <> 0 OR p.open_cost <> 0)
UNION ALL
SELECT 'working', o.instrument_id, o.product, o.transaction_type || ' ' || o.order_type,
       SUM(o.quantity - o.filled_quantity)::bigint,
       SUM((o.quantity - o.filled_quantity) * o.price),
       MAX(i.last_price),
       SUM((o.quantity - o.filled_quantity) * o.trigger_price)
  FROM {Order._meta.db_table} o JOIN {Instrument._meta.db_table} i ON i.id = o.instrument_id
 WHERE o.account_id = %(account)s AND o.status = ANY(%(live)s) AND o.id <> %(excluding)s
 GROUP BY o.instrument_id, o.product, o.transaction_type, o.order_type
UNION ALL
SELECT 'today', NULL, '', '', NULL, SUM(d.realised), NULL, SUM(d.charges)
  FROM (SELECT t.realised_pnl AS realised, t.total_charges AS charges
          FROM {Trade._meta.db_table} t
         WHERE t.account_id = %(account)s AND t.fill_timestamp >= %(start)s AND t.fill_timestamp < %(end)s
        UNION ALL
        SELECT c.realised_pnl, 0
          FROM {LedgerCross._meta.db_table} c
         WHERE c.account_id = %(account)s AND c.crossed_at >= %(start)s AND c.crossed_at < %(end)s
           AND c.order_id IS NULL) d
UNION ALL
SELECT 'rate', NULL, '', '', COUNT(*), NULL, NULL, NULL
  FROM {Order._meta.db_table} o
 WHERE o.account_id = %(account)s AND o.created_at >= %(since)s AND o.rejection_rule <> 'order_rate'
"""


def account_book(account: TradingAccount, *, excluding: Order | None = None, at: datetime | None = None) -> AccountBook:
    start = ist_day_start(at)
    params = {
        "account": account.pk,
        "live": list(Order.LIVE),
        "excluding": excluding.pk if excluding is not None else 0,
        "start": start,
        "end": start + timedelta(1),
        "since": (at or timezone.now()) - timedelta(seconds=1),
    }
    positions, working = [], []
    realised_today = charges_today = ZERO
    orders_last_second = 0
    with connection.cursor() as cursor:
        cursor.execute(ACCOUNT_BOOK_SQL, params)
        for kind, instrument_id, product, side_type, quantity, first, last_price, second in cursor.fetchall():
            if kind == "position":
                mark = last_price if last_price is not None else first
                positions.append(BookPosition(instrument_id, product, quantity, first, mark, second))
            elif kind == "working":
                transaction_type, order_type = side_type.split(" ", 1)
                if order_type in (Order.OrderType.LIMIT, Order.OrderType.SL):
                    value = first or ZERO
                elif order_type == Order.OrderType.SLM:
                    value = second or ZERO
                else:
                    value = quantity * (last_price or ZERO)
                working.append(BookWorking(instrument_id, transaction_type, product, quantity, value))
            elif kind == "today":
                realised_today, charges_today = first or ZERO, second or ZERO
            else:
                orders_last_second = quantity
    return AccountBook(account, positions, working, realised_today, charges_today, orders_last_second)
