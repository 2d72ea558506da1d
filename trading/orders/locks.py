"""Row locks for the order path, always taken in one order: account, then position, then order, then
the order's sub-ledger (its strategy's share of the position).

Every writer that touches an account's cash, positions or orders locks the account row first, so
two writers for one account never interleave and never deadlock.
The statements are built once (tradingsite.rows): these run several times for every order.
"""

from trading.models import Instrument, Order, Position, StrategyPosition, TradingAccount
from tradingsite.rows import row_fetch, row_insert


def account_lock(account_id: int) -> TradingAccount:
    account = row_fetch(TradingAccount, "t.id = %s", [account_id], lock=True)
    if account is None:
        raise TradingAccount.DoesNotExist(f"no trading account {account_id}")
    return account


def position_lock(*, account: TradingAccount, instrument: Instrument, product: str) -> Position:
    # Creation is race-free: every caller already holds the account lock. One query once it exists.
    where = "t.account_id = %s AND t.instrument_id = %s AND t.product = %s"
    position = row_fetch(Position, where, [account.pk, instrument.pk, product], lock=True)
    if position is None:
        position = row_insert(Position(account=account, instrument=instrument, product=product))
    position.account = account
    position.instrument = instrument
    return position


def order_lock(order_id: int, *, account: TradingAccount | None = None) -> Order:
    # FOR UPDATE of the order row only, never the joined instrument row, which every account's orders
    # share (row_fetch locks `t` alone). PostgreSQL checks Django's (deferred) foreign keys at COMMIT,
    # so locking the instrument would make every transaction committing an order for it wait.
    order = row_fetch(Order, "t.id = %s", [order_id], lock=True, related=("instrument",))
    if order is None:
        raise Order.DoesNotExist(f"no order {order_id}")
    if account is not None:  # the caller's locked account, so reading order.account costs no query
        order.account = account
    return order


def ledger_lock(*, position: Position, strategy_id: int | None) -> StrategyPosition:
    """The sub-ledger of `position` for a strategy (None: orders placed by hand), made on first use.

    A position made before sub-ledgers existed was split into them by migration, so a missing row is
    always a new one, and race-free under the account lock the caller holds."""
    where = "t.account_id = %s AND t.instrument_id = %s AND t.product = %s AND t.strategy_id IS NOT DISTINCT FROM %s"
    params = [position.account_id, position.instrument_id, position.product, strategy_id]
    ledger = row_fetch(StrategyPosition, where, params, lock=True)
    if ledger is None:
        ledger = row_insert(
            StrategyPosition(
                account_id=position.account_id,
                instrument_id=position.instrument_id,
                product=position.product,
                strategy_id=strategy_id,
            )
        )
    return ledger
