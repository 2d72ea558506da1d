"""Reads on the trading side, always scoped to what the user may see: their own accounts' objects."""

from datetime import datetime, time
from decimal import Decimal

from django.db.models import OuterRef, Q, QuerySet, Subquery, TextField, Value
from django.db.models.functions import Coalesce

from trading.models import Instrument, Order, OutboxEntry, Strategy, Trade, TradingAccount
from tradingsite.exceptions import NotFoundError, ValidationError
from tradingsite.ist import IST
from tradingsite.rows import row_fetch, rows_fetch


def accounts_for_user(user) -> QuerySet[TradingAccount]:
    return TradingAccount.objects.filter(owner=user).order_by("pk")


def account_for_user(user, account_id) -> TradingAccount:
    """The user's account with this id; another user's account is reported as not found. Every order
    placement naming its account asks: one statement built once (tradingsite.rows)."""
    try:
        number = int(account_id)
    except (TypeError, ValueError):
        raise NotFoundError(f"no trading account {account_id}") from None
    account = None
    if 0 < number < 2**63:  # beyond bigint no account can exist, and PostgreSQL would refuse the number
        account = row_fetch(TradingAccount, "t.owner_id = %s AND t.id = %s", [user.pk, number])
    if account is None:
        raise NotFoundError(f"no trading account {account_id}")
    return account


def account_default_for_user(user, account_id=None) -> TradingAccount:
    """The account named, or the user's only one (both read with statements built once)."""
    if account_id is not None:
        return account_for_user(user, account_id)
    accounts = rows_fetch(TradingAccount, "t.owner_id = %s ORDER BY t.id", [user.pk], limit=2)
    if len(accounts) == 1:
        return accounts[0]
    if not accounts:
        raise NotFoundError("you have no trading account")
    raise ValidationError("you have several trading accounts: name one with 'account'", code="account_required")


def strategy_for_account(account: TradingAccount, strategy_id) -> Strategy:
    strategy = Strategy.objects.filter(account=account, pk=strategy_id).first()
    if strategy is None:
        raise NotFoundError(f"no strategy {strategy_id} in account {account.name}")
    return strategy


def instrument_lookup(*, instrument_token=None, exchange=None, tradingsymbol=None) -> Instrument:
    # Every order placement asks: statements built once (tradingsite.rows).
    if instrument_token is not None:
        found = row_fetch(Instrument, "t.instrument_token = %s ORDER BY t.id", [instrument_token], limit=1)
        label = f"instrument_token {instrument_token}"
    else:
        where = "t.exchange = %s AND t.tradingsymbol = %s ORDER BY t.id"
        found = row_fetch(Instrument, where, [exchange, tradingsymbol], limit=1)
        label = f"{exchange}:{tradingsymbol}"
    if found is None:
        raise NotFoundError(f"no instrument {label}", code="instrument_not_found")
    return found


def instruments_search(query: str = "", exchange: str = "") -> QuerySet[Instrument]:
    instruments = Instrument.objects.all()
    if exchange:
        instruments = instruments.filter(exchange=exchange.upper())
    if query:
        instruments = instruments.filter(Q(tradingsymbol__istartswith=query) | Q(name__icontains=query))
    return instruments.order_by("tradingsymbol", "exchange")


def ist_date_bound(value, *, end: bool) -> datetime:
    return datetime.combine(value, time.max if end else time.min, tzinfo=IST)


BROKER_WAITING_PREFIX = "BrokerUnavailable: "  # how the dispatcher records a broker it could not reach


def with_broker_waiting(orders):
    """Orders annotated with `broker_waiting`: why the first of their changes still unsent has not reached
    the broker (the outbox entry's last error: the broker out of reach, its circuit open), or ''."""
    # The reasons a trader can act on or wait out (the broker unavailable), not the dispatcher's own.
    unsent = OutboxEntry.objects.filter(
        order=OuterRef("pk"), sent_at__isnull=True, last_error__startswith=BROKER_WAITING_PREFIX
    )
    return orders.annotate(
        broker_waiting=Coalesce(
            Subquery(unsent.order_by("pk").values("last_error")[:1]), Value(""), output_field=TextField()
        )
    )


def orders_for_user(user, *, account_id=None, status=None, symbol=None, date_from=None, date_to=None):
    orders = with_broker_waiting(Order.objects.filter(account__owner=user).select_related("instrument"))
    if account_id is not None:
        orders = orders.filter(account_id=account_id)
    if status:
        orders = orders.filter(status=status)
    if symbol:
        orders = orders.filter(tradingsymbol=symbol.upper())
    if date_from:
        orders = orders.filter(created_at__gte=ist_date_bound(date_from, end=False))
    if date_to:
        orders = orders.filter(created_at__lte=ist_date_bound(date_to, end=True))
    return orders.order_by("-created_at", "-pk")


def order_for_user(user, order_id) -> Order:
    orders = Order.objects.filter(account__owner=user, pk=order_id).select_related("instrument", "account")
    order = with_broker_waiting(orders).first()
    if order is None:
        raise NotFoundError(f"no order {order_id}")
    return order


def trades_for_user(user, *, account_id=None, order_id=None, symbol=None):
    trades = Trade.objects.filter(account__owner=user)
    if account_id is not None:
        trades = trades.filter(account_id=account_id)
    if order_id is not None:
        trades = trades.filter(order_id=order_id)
    if symbol:
        trades = trades.filter(tradingsymbol=symbol.upper())
    return trades.order_by("-fill_timestamp", "-pk")


def position_last_fill(position) -> Decimal | None:
    """The price of the last fill of a position (account, instrument, product), or None: what a position
    and its sub-ledgers are marked at where no last price is known."""
    trades = Trade.objects.filter(
        account_id=position.account_id, instrument_id=position.instrument_id, product=position.product
    )
    return trades.order_by("-fill_timestamp", "-pk").values_list("price", flat=True).first()
