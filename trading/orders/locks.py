"""Row locks for the order path, always taken in one order: account, then position, then order.

Every writer that touches an account's cash, positions or orders locks the account row first, so
two writers for one account never interleave and never deadlock.
"""

from trading.models import Instrument, Order, Position, TradingAccount


def account_lock(account_id: int) -> TradingAccount:
    return TradingAccount.objects.select_for_update().get(pk=account_id)


def position_lock(*, account: TradingAccount, instrument: Instrument, product: str) -> Position:
    # Creation is race-free: every caller already holds the account lock.
    position, _ = Position.objects.get_or_create(account=account, instrument=instrument, product=product)
    return Position.objects.select_for_update(of=("self",)).select_related("instrument").get(pk=position.pk)


def order_lock(order_id: int) -> Order:
    # of=("self",): FOR UPDATE would otherwise also lock the joined instrument row, which every
    # account's orders share. PostgreSQL checks Django's (deferred) foreign keys at COMMIT, so a
    # transaction committing an order for that instrument would wait on it while holding the audit
    # chain lock, and the lock holder waits for the chain lock: a deadlock.
    return Order.objects.select_for_update(of=("self",)).select_related("instrument").get(pk=order_id)
