"""Pre-trade risk checks. They run with the account row locked, so they see every earlier order.

Each rule either passes or raises `RiskRejection` naming itself and the numbers involved. The
position and exposure rules count live orders as if they fill (worst case), so many orders that
each fit cannot together push a position past its limit.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from trading.models import Instrument, Order, TradingAccount
from trading.orders.book import AccountBook
from tradingsite.exceptions import UnprocessableError

PAISA = Decimal("0.01")


class RiskRejection(UnprocessableError):
    code = "risk_rejected"

    def __init__(self, rule: str, message: str, **numbers):
        super().__init__(f"{rule}: {message}", details={"rule": rule, **{k: str(v) for k, v in numbers.items()}})
        self.rule = rule


@dataclass(frozen=True)
class OrderIntent:
    instrument: Instrument
    transaction_type: str
    order_type: str
    product: str
    quantity: int
    price: Decimal | None
    trigger_price: Decimal | None

    @property
    def signed_quantity(self) -> int:
        return self.quantity if self.transaction_type == Order.TransactionType.BUY else -self.quantity


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def reference_price(intent: OrderIntent, last_price: Decimal | None) -> Decimal:
    """The price an order's value is judged at: its limit, else its trigger (SL-M), else the last price."""
    if intent.order_type in (Order.OrderType.LIMIT, Order.OrderType.SL):
        return intent.price
    if intent.order_type == Order.OrderType.SLM:
        return intent.trigger_price
    if last_price is None:
        raise RiskRejection("price_unavailable", f"no last price for {intent.instrument} to value a MARKET order")
    return last_price


def check_shape(intent: OrderIntent) -> None:
    """Prices and triggers where the order type needs them, and nowhere else."""
    needs_price = intent.order_type in (Order.OrderType.LIMIT, Order.OrderType.SL)
    needs_trigger = intent.order_type in (Order.OrderType.SL, Order.OrderType.SLM)
    if needs_price and not intent.price:
        raise RiskRejection("order_shape", f"a {intent.order_type} order needs a price")
    if not needs_price and intent.price:
        raise RiskRejection("order_shape", f"a {intent.order_type} order takes no price")
    if needs_trigger and not intent.trigger_price:
        raise RiskRejection("order_shape", f"a {intent.order_type} order needs a trigger_price")
    if not needs_trigger and intent.trigger_price:
        raise RiskRejection("order_shape", f"a {intent.order_type} order takes no trigger_price")
    if intent.quantity <= 0:
        raise RiskRejection("order_shape", "quantity must be a positive whole number", quantity=intent.quantity)
    for name in ("price", "trigger_price"):
        value = getattr(intent, name)
        if value is not None and value <= 0:
            raise RiskRejection("order_shape", f"{name} must be positive", **{name: value})
    # A stop-loss limit triggers on the way to its limit: a buy's trigger at or below its price, a
    # sell's at or above (as the exchanges and Kite require); otherwise it would trigger past its limit.
    if intent.order_type == Order.OrderType.SL and intent.price and intent.trigger_price:
        buying = intent.transaction_type == Order.TransactionType.BUY
        if buying and intent.trigger_price > intent.price:
            raise RiskRejection(
                "order_shape",
                f"a BUY SL order's trigger_price {intent.trigger_price} cannot be above its price {intent.price}",
            )
        if not buying and intent.trigger_price < intent.price:
            raise RiskRejection(
                "order_shape",
                f"a SELL SL order's trigger_price {intent.trigger_price} cannot be below its price {intent.price}",
            )


def check_status(account: TradingAccount, intent: OrderIntent, position_quantity: int, pending_same_side: int) -> None:
    if account.status == TradingAccount.Status.HALTED:
        reason = f" ({account.status_reason})" if account.status_reason else ""
        raise RiskRejection("account_halted", f"account {account.name} is halted{reason}; only cancels are accepted")
    if account.status == TradingAccount.Status.REDUCING:
        reduces = position_quantity != 0 and (position_quantity > 0) != (intent.signed_quantity > 0)
        room = abs(position_quantity) - pending_same_side
        if not reduces or intent.quantity > room:
            raise RiskRejection(
                "account_reducing",
                f"account {account.name} accepts only orders that reduce a position; "
                f"this order would reduce by at most {max(room, 0)} of {intent.quantity}",
                position=position_quantity,
                quantity=intent.quantity,
            )


def check_rate(account: TradingAccount, book: AccountBook) -> None:
    recent = book.orders_last_second  # read with the book, in its one query
    if recent >= account.max_orders_per_second:
        raise RiskRejection(
            "order_rate",
            f"{recent} orders in the last second; the limit is {account.max_orders_per_second} per second",
            orders_last_second=recent,
            limit=account.max_orders_per_second,
        )


def check_tick_and_lot(intent: OrderIntent) -> None:
    tick = intent.instrument.tick_size.normalize()
    for name in ("price", "trigger_price"):
        value = getattr(intent, name)
        if value is not None and value % tick:
            raise RiskRejection(
                "tick_size", f"{name} {value} is not a multiple of the tick size {tick}", **{name: value, "tick": tick}
            )
    lot = intent.instrument.lot_size
    if intent.quantity % lot:
        raise RiskRejection(
            "lot_size", f"quantity {intent.quantity} is not a multiple of the lot size {lot}", quantity=intent.quantity
        )


def check_order_size(account: TradingAccount, intent: OrderIntent, value: Decimal) -> None:
    if intent.quantity > account.max_order_quantity:
        raise RiskRejection(
            "max_order_quantity",
            f"quantity {intent.quantity} exceeds the limit of {account.max_order_quantity}",
            quantity=intent.quantity,
            limit=account.max_order_quantity,
        )
    if value > account.max_order_value:
        raise RiskRejection(
            "max_order_value",
            f"order value {money(value)} exceeds the limit of {money(account.max_order_value)}",
            value=value,
            limit=account.max_order_value,
        )


def check_price_band(account: TradingAccount, intent: OrderIntent, last_price: Decimal | None) -> None:
    """Prices within the band around the last price. The bounds are rounded inward to the tick, so the
    bounds a rejection names are prices that pass (on the tick, a price within them is within the band)."""
    band = account.price_band_percent
    tick = intent.instrument.tick_size.normalize()
    for name in ("price", "trigger_price"):
        value = getattr(intent, name)
        if value is None:
            continue
        if last_price is None:
            raise RiskRejection("price_unavailable", f"no last price for {intent.instrument} to check the price band")
        low = tick_round(last_price * (100 - band) / 100, tick, ROUND_CEILING)
        high = tick_round(last_price * (100 + band) / 100, tick, ROUND_FLOOR)
        if not low <= value <= high:
            raise RiskRejection(
                "price_band",
                f"{name} {value} is outside {band}% of the last price {last_price} ({low} to {high})",
                **{name: value, "last_price": last_price, "band_percent": band, "low": low, "high": high},
                tick=tick,
            )


def tick_round(value: Decimal, tick: Decimal, rounding: str) -> Decimal:
    """`value` to a multiple of `tick` in the given direction, shown to the paisa at least."""
    rounded = (value / tick).to_integral_value(rounding=rounding) * tick
    return rounded.quantize(min(tick, PAISA))


def check_exposure(account: TradingAccount, intent: OrderIntent, price: Decimal, book: AccountBook) -> None:
    exposures = book.exposures()
    this = exposures[intent.instrument.pk]
    if intent.transaction_type == Order.TransactionType.BUY:
        this.pending_buy += intent.quantity
    else:
        this.pending_sell += intent.quantity
    marks = book.marks()
    marks[intent.instrument.pk] = price
    position_value = this.worst_case() * price
    if position_value > account.max_position_value:
        raise RiskRejection(
            "max_position_value",
            f"position in {intent.instrument} could reach {this.worst_case()} shares worth {money(position_value)}, "
            f"over the limit of {money(account.max_position_value)}",
            value=position_value,
            limit=account.max_position_value,
        )
    gross = sum((exposure.worst_case() * marks[pk] for pk, exposure in exposures.items()), Decimal("0"))
    if gross > account.max_gross_exposure:
        raise RiskRejection(
            "max_gross_exposure",
            f"gross exposure could reach {money(gross)}, over the limit of {money(account.max_gross_exposure)}",
            value=gross,
            limit=account.max_gross_exposure,
        )


def check_funds(account: TradingAccount, intent: OrderIntent, value: Decimal, book: AccountBook) -> None:
    if intent.product == Order.Product.CNC and intent.transaction_type == Order.TransactionType.SELL:
        sellable = book.cnc_sellable(intent.instrument.pk)
        if intent.quantity > sellable:
            raise RiskRejection(
                "holdings",
                f"selling {intent.quantity} {intent.instrument} for delivery needs holdings; {sellable} available",
                quantity=intent.quantity,
                available=sellable,
            )
        return
    required = value / account.mis_leverage if intent.product == Order.Product.MIS else value
    available = account.cash - book.funds_blocked()
    if required > available:
        kind = f"margin at {account.mis_leverage}x leverage" if intent.product == Order.Product.MIS else "cash"
        raise RiskRejection(
            "funds",
            f"order needs {money(required)} of {kind}; {money(available)} is available",
            required=f"{required:.2f}",
            available=f"{available:.2f}",
        )


def risk_check(
    *,
    account: TradingAccount,
    intent: OrderIntent,
    last_price: Decimal | None,
    book: AccountBook,
    count_rate: bool = True,
    closing_only: bool = False,
) -> None:
    """Run every rule in order; the first that fails raises. The account row must be locked.

    `closing_only` is for the platform's own square-off of a position: it must go through on a
    halted account and whatever the limits, so only the order's shape, tick and lot are checked.
    """
    check_shape(intent)
    if closing_only:
        check_tick_and_lot(intent)
        return
    exposure = book.exposures().get(intent.instrument.pk)
    position_quantity = exposure.quantity if exposure else 0
    pending_same_side = 0
    if exposure:
        pending_same_side = exposure.pending_buy if intent.signed_quantity > 0 else exposure.pending_sell
    check_status(account, intent, position_quantity, pending_same_side)
    if count_rate:
        check_rate(account, book)
    check_tick_and_lot(intent)
    price = reference_price(intent, last_price)
    value = price * intent.quantity
    check_order_size(account, intent, value)
    check_price_band(account, intent, last_price)
    check_exposure(account, intent, price, book)
    check_funds(account, intent, value, book)
