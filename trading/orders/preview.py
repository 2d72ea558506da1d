"""What placing an order would do, without placing it: its value, charges and margin, the funds left
after it, and the risk rule it would fail now. Nothing is locked, stored, sent or audited."""

import copy
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from trading.market.prices import price_last
from trading.models import Instrument, TradingAccount
from trading.orders.accounts import daily_loss_breach
from trading.orders.book import BookWorking, account_book
from trading.orders.charges import charges_for_fill, paisa
from trading.orders.risk import OrderIntent, RiskRejection, reference_price, risk_check
from tradingsite.ist import IST


@dataclass(frozen=True)
class OrderPreview:
    """Amounts in rupees, to the paisa. Those that need the order's price are None when it has none (a
    MARKET order without a last price, a LIMIT order without its price): `problems` says why."""

    value: Decimal | None
    charges: Decimal | None
    margin: Decimal | None
    funds_available: Decimal
    funds_after: Decimal | None
    confirm: bool
    confirm_above: Decimal
    problems: list[str]


def order_preview(
    *,
    account: TradingAccount,
    instrument: Instrument,
    transaction_type: str,
    order_type: str,
    product: str,
    quantity: int,
    price: Decimal | None = None,
    trigger_price: Decimal | None = None,
    at: datetime | None = None,
) -> OrderPreview:
    at = at or timezone.now()
    intent = OrderIntent(instrument, transaction_type, order_type, product, quantity, price, trigger_price)
    # Read without the account's lock: a preview must not wait for, or hold up, placements. It is a
    # snapshot, exact unless an order or fill of the account lands meanwhile.
    book = account_book(account, at=at)
    last_price = price_last(instrument)
    problems = []
    breach = daily_loss_breach(account, book)
    if breach:
        # Placing would first move the account to its daily-loss status; the checks see it so (a copy:
        # the preview changes nothing).
        account = copy.copy(account)
        account.status, account.status_reason = account.daily_loss_action, breach
    try:
        risk_check(account=account, intent=intent, last_price=last_price, book=book)
    except RiskRejection as rejection:
        problems.append(rejection.message)

    blocked = book.funds_blocked()
    available = paisa(account.cash - blocked)
    confirm_above = paisa(settings.ORDER_CONFIRM_VALUE)
    try:
        reference = reference_price(intent, last_price)
    except RiskRejection:
        reference = None
    if reference is None:
        return OrderPreview(None, None, None, available, None, False, confirm_above, problems)

    value = reference * quantity
    on = at.astimezone(IST).date()
    charges = charges_for_fill(
        product=product, transaction_type=transaction_type, quantity=quantity, price=reference, on=on
    )
    # What it blocks is what the book would count once it is working: the same rule, not a copy of it.
    working = BookWorking(instrument.pk, transaction_type, product, quantity, value)
    margin = dataclasses.replace(book, working=[*book.working, working]).funds_blocked() - blocked
    return OrderPreview(
        value=paisa(value),
        charges=charges.total,
        margin=margin,
        funds_available=available,
        funds_after=available - margin,
        confirm=value >= settings.ORDER_CONFIRM_VALUE,
        confirm_above=confirm_above,
        problems=problems,
    )
