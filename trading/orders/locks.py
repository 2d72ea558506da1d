"""Row locks for the order path, always taken in one order: account, then position, then order.

Every writer that touches an account's cash, positions or orders locks the account row first, so
two writers for one account never interleave and never deadlock.
"""

from trading.models import Instrument, Order, Position, TradingAccount


def account_lock(account_id: int) -> TradingAccount:
    return TradingAccount.objects.select_for_update().get(pk=account_id)


def position_lock(*, account: TradingAccount, instrument: Instrument, product: str) -> Position:
    # Creation is race-free: every caller already holds the account lock. One query once it exists.
    try:
        return Position.objects.select_for_update(of=("self",)).get(
            account=account, instrument=instrument, product=product
        )
    except Position.DoesNotExist:
        return Position.objects.create(account=account, instrument=instrument, product=product)


def order_lock(order_id: int, *, account: TradingAccount | None = None) -> Order:
    # of=("self",): FOR UPDATE would otherwise also lock the joined instrument row, which every
    # account's orders share. PostgreSQL checks Django's (deferred) foreign keys at COMMIT, so a
    # transaction committing an order for that instrument would wait on it while holding the audit
    # chain lock, and the lock holder waits for the chain lock: a deadlock.
    order = Order.objects.select_for_update(of=("self",)).select_related("instrument").get(pk=order_id)
    if account is not None:  # the caller's locked account, so reading order.account costs no query
        order.account = account
    return order
