"""Orders, trades and positions in Kite Connect's field names and vocabulary, with the outbox, the
idempotency keys, the charge rates and the paper exchange's book."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models

from trading.models.accounts import Strategy, TradingAccount
from trading.models.market import Instrument
from trading.models.numbers import MONEY, PRICE, RATE


class Order(models.Model):
    class Status(models.TextChoices):
        # Accepted by the risk checks and queued for the broker (Kite's first status too).
        RECEIVED = "PUT ORDER REQ RECEIVED"
        OPEN = "OPEN"
        TRIGGER_PENDING = "TRIGGER PENDING"
        COMPLETE = "COMPLETE"
        CANCELLED = "CANCELLED"
        REJECTED = "REJECTED"

    class TransactionType(models.TextChoices):
        BUY = "BUY"
        SELL = "SELL"

    class OrderType(models.TextChoices):
        MARKET = "MARKET"
        LIMIT = "LIMIT"
        SL = "SL"
        SLM = "SL-M"

    class Product(models.TextChoices):
        CNC = "CNC"
        MIS = "MIS"
        NRML = "NRML"

    class Validity(models.TextChoices):
        DAY = "DAY"
        IOC = "IOC"

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="orders")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="orders")
    strategy = models.ForeignKey(Strategy, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    placed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    variety = models.CharField(max_length=16, default="regular")
    exchange = models.CharField(max_length=8)
    tradingsymbol = models.CharField(max_length=64)
    transaction_type = models.CharField(max_length=4, choices=TransactionType.choices)
    order_type = models.CharField(max_length=8, choices=OrderType.choices)
    product = models.CharField(max_length=4, choices=Product.choices)
    validity = models.CharField(max_length=4, choices=Validity.choices, default=Validity.DAY)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(null=True, blank=True, **PRICE)
    trigger_price = models.DecimalField(null=True, blank=True, **PRICE)
    disclosed_quantity = models.PositiveIntegerField(default=0)
    tag = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RECEIVED)
    status_message = models.CharField(max_length=512, blank=True)
    rejection_rule = models.CharField(max_length=32, blank=True)
    filled_quantity = models.PositiveIntegerField(default=0)
    pending_quantity = models.PositiveIntegerField(default=0)
    cancelled_quantity = models.PositiveIntegerField(default=0)
    average_price = models.DecimalField(default=Decimal("0"), max_digits=16, decimal_places=4)
    # The last price when the order was placed: fills are measured against it (slippage).
    arrival_price = models.DecimalField(null=True, blank=True, **PRICE)
    # Brokerage already charged on this order's fills, for the per-order cap.
    brokerage_charged = models.DecimalField(default=Decimal("0"), **MONEY)
    modification_count = models.PositiveIntegerField(default=0)
    # A cancel or modification sent to a broker that confirms it later (Kite): the order keeps its status
    # and terms until the broker confirms or refuses. `pending_terms` holds the requested terms (modify)
    # or the reason (cancel).
    pending_request = models.CharField(
        max_length=8, blank=True, choices=[("modify", "Modification pending"), ("cancel", "Cancel pending")]
    )
    pending_terms = models.JSONField(default=dict, blank=True)
    broker_order_id = models.CharField(max_length=32, blank=True, db_index=True)
    client_order_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    adopted = models.BooleanField(
        default=False, help_text="Placed at the broker outside the platform; taken in by reconciliation."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    LIVE = frozenset({Status.RECEIVED, Status.OPEN, Status.TRIGGER_PENDING})

    class Meta:
        indexes = [
            models.Index(fields=["account", "created_at"]),
            models.Index(fields=["account", "status"]),
            models.Index(fields=["instrument", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(filled_quantity__lte=models.F("quantity")), name="order_filled_within_quantity"
            ),
            models.UniqueConstraint(
                fields=["account", "broker_order_id"],
                condition=~models.Q(broker_order_id=""),
                name="order_account_broker_order_id",
            ),
        ]

    def __str__(self):
        return f"{self.transaction_type} {self.quantity} {self.tradingsymbol} {self.order_type} [{self.status}]"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class Trade(models.Model):
    """One fill, with its charges itemised as on a contract note."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="trades")
    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="trades")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="trades")
    # The broker's own trade id (Kite's `trade_id`, the exchange's trade number; the paper exchange makes
    # its own): unique per order, so a trade reported twice, by any path, is booked once. Not unique
    # across orders: both sides of one exchange trade, in two accounts here, carry the same number.
    broker = models.CharField(max_length=8, default="paper")
    trade_id = models.CharField(max_length=32)
    exchange = models.CharField(max_length=8)
    tradingsymbol = models.CharField(max_length=64)
    transaction_type = models.CharField(max_length=4, choices=Order.TransactionType.choices)
    product = models.CharField(max_length=4, choices=Order.Product.choices)
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**PRICE)
    brokerage = models.DecimalField(**MONEY)
    stt = models.DecimalField(**MONEY)
    exchange_charge = models.DecimalField(**MONEY)
    sebi_fee = models.DecimalField(**MONEY)
    stamp_duty = models.DecimalField(**MONEY)
    gst = models.DecimalField(**MONEY)
    total_charges = models.DecimalField(**MONEY)
    realised_pnl = models.DecimalField(default=Decimal("0"), **MONEY)
    fill_timestamp = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "fill_timestamp"])]
        constraints = [models.UniqueConstraint(fields=["order", "trade_id"], name="trade_order_trade_id")]

    def __str__(self):
        return f"{self.transaction_type} {self.quantity} {self.tradingsymbol} @ {self.price}"

    @property
    def value(self) -> Decimal:
        return self.price * self.quantity


class PositionFigures(models.Model):
    """What a fill changes on a position, the account's and each sub-ledger's alike."""

    product = models.CharField(max_length=4, choices=Order.Product.choices)
    quantity = models.IntegerField(default=0)
    average_price = models.DecimalField(default=Decimal("0"), max_digits=16, decimal_places=4)
    # What the open quantity cost, exactly, signed as the quantity is (a short's is negative: what
    # selling it brought in); average_price is this over quantity, rounded for display. Unrealised P&L
    # is quantity x price - open_cost. On the account's row it can be non-zero at quantity 0, while two
    # sub-ledgers hold opposite positions bought at different prices: the P&L locked in between them.
    open_cost = models.DecimalField(default=Decimal("0"), **MONEY)
    realised_pnl = models.DecimalField(default=Decimal("0"), **MONEY)
    buy_quantity = models.PositiveIntegerField(default=0)
    buy_value = models.DecimalField(default=Decimal("0"), **MONEY)
    sell_quantity = models.PositiveIntegerField(default=0)
    sell_value = models.DecimalField(default=Decimal("0"), **MONEY)
    charges = models.DecimalField(default=Decimal("0"), **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Position(PositionFigures):
    """Net position per account, instrument and product. `quantity` is signed: negative is short.

    The account's position is the sum of its sub-ledgers (`StrategyPosition`, one per strategy and one
    for the orders placed by hand): quantity, cost, realised P&L, traded quantities and values and
    charges are each the sum of theirs, kept so by every fill in the same transaction.
    """

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "instrument", "product"], name="position_account_instrument")
        ]

    def __str__(self):
        return f"{self.quantity} {self.instrument} {self.product}"


class StrategyPosition(PositionFigures):
    """A sub-ledger: one strategy's share of an account's position (`strategy` empty: the orders placed
    by hand, and the broker's orders taken in by reconciliation), at average cost within itself.

    Every fill is booked into its order's sub-ledger and into the account's `Position` together, so the
    sub-ledgers of an account, instrument and product always sum to its position exactly.
    """

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="strategy_positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    strategy = models.ForeignKey(Strategy, null=True, blank=True, on_delete=models.PROTECT, related_name="positions")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "instrument", "product", "strategy"],
                name="strategy_position_book",
                nulls_distinct=False,
            )
        ]
        indexes = [models.Index(fields=["strategy", "instrument"])]

    def __str__(self):
        return f"{self.quantity} {self.instrument} {self.product} ({self.strategy or 'manual'})"


class LedgerCross(models.Model):
    """Quantity moved from one sub-ledger of a position to another at one price, with no order and no
    trade at the broker: the account's holding does not change, only whose book it is in.

    Two cases make one. At the MIS square-off, sub-ledgers holding opposite positions (a strategy long,
    the manual book short) are crossed against each other at the mark, and only the same-side
    remainder goes to the broker, so the square-off never opens exposure there. And shares held for
    delivery exist once: a CNC sell beyond its own sub-ledger's holding (the trader selling shares a
    strategy bought) takes the shortfall from the other sub-ledgers at the fill's price first, so no
    delivery sub-ledger is ever short.

    Each sub-ledger realises its P&L at the cross price; `realised_pnl` is the two together, which is
    what the cross adds to the account's realised P&L (and to today's, for the daily loss limit).
    """

    class Reason(models.TextChoices):
        SQUAREOFF = "squareoff"
        DELIVERY = "delivery"

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="ledger_crosses")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="+")
    product = models.CharField(max_length=4, choices=Order.Product.choices)
    # Strategy empty: the manual book.
    seller = models.ForeignKey(Strategy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    buyer = models.ForeignKey(Strategy, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    price = models.DecimalField(**PRICE)
    realised_pnl = models.DecimalField(**MONEY)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    crossed_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["account", "crossed_at"])]
        constraints = [models.CheckConstraint(condition=models.Q(quantity__gt=0), name="ledger_cross_quantity")]

    def __str__(self):
        return f"{self.quantity} {self.instrument} {self.product} @ {self.price} ({self.reason})"


class OutboxEntry(models.Model):
    """A broker call owed for an order, written in the same transaction as the order change."""

    class Action(models.TextChoices):
        PLACE = "place"
        MODIFY = "modify"
        CANCEL = "cancel"

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="outbox")
    action = models.CharField(max_length=8, choices=Action.choices)
    attempts = models.PositiveIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # When a call that may have reached the broker was last made for it (a placement whose answer can be
    # lost): such an entry is never withdrawn as unsent, even once its claim is released for a retry.
    tried_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The W3C traceparent of the span that owed the call (tradingsite.tracing), so the process that sends
    # it continues the order's trace; empty when tracing is off.
    trace_context = models.CharField(max_length=64, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "outbox entries"
        indexes = [models.Index(fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="outbox_unsent")]

    def __str__(self):
        return f"{self.action} order {self.order_id} ({'sent' if self.sent_at else 'unsent'})"


class IdempotencyKey(models.Model):
    """The first response to a request carrying an Idempotency-Key, replayed for retries (per account)."""

    account = models.ForeignKey(TradingAccount, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "key"], name="idempotency_account_key")]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"{self.key} ({'done' if self.completed_at else 'in flight'})"


class ChargeRate(models.Model):
    """Zerodha's published equity charges, dated: a trade uses the row in force on its date."""

    class Segment(models.TextChoices):
        EQUITY_DELIVERY = "equity_delivery"
        EQUITY_INTRADAY = "equity_intraday"

    segment = models.CharField(max_length=24, choices=Segment.choices)
    effective_from = models.DateField()
    brokerage_rate = models.DecimalField(**RATE)
    brokerage_cap = models.DecimalField(null=True, blank=True, **MONEY, help_text="Per executed order.")
    stt_buy_rate = models.DecimalField(**RATE)
    stt_sell_rate = models.DecimalField(**RATE)
    exchange_rate = models.DecimalField(**RATE, help_text="NSE transaction charge.")
    sebi_rate = models.DecimalField(**RATE, help_text="Rs 10 per crore is 0.000001.")
    stamp_buy_rate = models.DecimalField(**RATE)
    gst_rate = models.DecimalField(**RATE, help_text="On brokerage, exchange charge and SEBI fee.")
    source = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "effective_from"], name="charge_rate_dated")]

    def __str__(self):
        return f"{self.segment} from {self.effective_from}"


class PaperExchangeOrder(models.Model):
    """The paper exchange's own order book: what the 'exchange' received, one row per client order id.

    Kept apart from `Order` the way a real exchange is apart from the platform: the unique client order
    id makes a re-sent submission a lookup, never a second order.
    """

    client_order_id = models.UUIDField(unique=True)
    exchange_order_id = models.CharField(max_length=32, unique=True)
    submissions = models.PositiveIntegerField(default=1, help_text="How many times this order was sent.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.exchange_order_id
