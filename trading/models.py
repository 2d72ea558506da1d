"""Instruments, trading accounts, orders and fills, in Kite Connect's field names and vocabulary.

Money and prices are Decimal (NUMERIC in PostgreSQL); quantities are whole shares or contracts.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models

PRICE = {"max_digits": 14, "decimal_places": 2}
MONEY = {"max_digits": 18, "decimal_places": 2}
# Charges are itemised to the paisa; rates to 8 places (0.00297% is 0.0000297).
RATE = {"max_digits": 12, "decimal_places": 8}


class Instrument(models.Model):
    instrument_token = models.BigIntegerField(unique=True)
    exchange_token = models.BigIntegerField(null=True, blank=True)
    tradingsymbol = models.CharField(max_length=64)
    name = models.CharField(max_length=128, blank=True)
    exchange = models.CharField(max_length=8)
    segment = models.CharField(max_length=16)
    instrument_type = models.CharField(max_length=8, default="EQ")
    tick_size = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0.05"))
    lot_size = models.PositiveIntegerField(default=1)
    expiry = models.DateField(null=True, blank=True)
    strike = models.DecimalField(null=True, blank=True, **PRICE)
    # The latest traded price and when, kept here so prices survive a Redis restart.
    last_price = models.DecimalField(null=True, blank=True, **PRICE)
    last_price_at = models.DateTimeField(null=True, blank=True)
    last_volume = models.BigIntegerField(default=0, help_text="Volume traded in the latest tick.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["exchange", "tradingsymbol"], name="instrument_exchange_symbol")]
        indexes = [models.Index(fields=["tradingsymbol"])]

    def __str__(self):
        return f"{self.exchange}:{self.tradingsymbol}"


class TradingAccount(models.Model):
    class Broker(models.TextChoices):
        PAPER = "paper", "Paper exchange"
        KITE = "kite", "Zerodha Kite Connect"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        REDUCING = "reducing", "Reducing only"
        HALTED = "halted", "Halted"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="trading_accounts")
    name = models.CharField(max_length=64)
    broker = models.CharField(max_length=8, choices=Broker.choices, default=Broker.PAPER)
    cash = models.DecimalField(default=Decimal("0"), **MONEY)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    status_reason = models.CharField(max_length=255, blank=True)
    # Pre-trade risk limits.
    max_order_quantity = models.PositiveIntegerField(default=10_000)
    max_order_value = models.DecimalField(default=Decimal("1000000"), **MONEY)
    price_band_percent = models.DecimalField(max_digits=6, decimal_places=2, default=Decimal("5"))
    max_position_value = models.DecimalField(default=Decimal("2500000"), **MONEY)
    max_gross_exposure = models.DecimalField(default=Decimal("10000000"), **MONEY)
    mis_leverage = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("5"))
    daily_loss_limit = models.DecimalField(default=Decimal("50000"), **MONEY)
    daily_loss_action = models.CharField(
        max_length=8,
        choices=[(Status.REDUCING, "Reducing only"), (Status.HALTED, "Halted")],
        default=Status.HALTED,
    )
    max_orders_per_second = models.PositiveIntegerField(default=10)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    RISK_LIMIT_FIELDS = (
        "max_order_quantity",
        "max_order_value",
        "price_band_percent",
        "max_position_value",
        "max_gross_exposure",
        "mis_leverage",
        "daily_loss_limit",
        "daily_loss_action",
        "max_orders_per_second",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="account_owner_name")]

    def __str__(self):
        return f"{self.name} ({self.owner})"


class Strategy(models.Model):
    class Kind(models.TextChoices):
        MANUAL = "manual", "Manual"
        RULE = "rule", "Rule-based"
        SENTIMENT = "sentiment", "News sentiment"
        RL = "rl", "Reinforcement learning"

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="strategies")
    name = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.MANUAL)
    parameters = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "strategies"
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="strategy_account_name")]

    def __str__(self):
        return self.name


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


class Position(models.Model):
    """Net position per account, instrument and product. `quantity` is signed: negative is short."""

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="positions")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="positions")
    product = models.CharField(max_length=4, choices=Order.Product.choices)
    quantity = models.IntegerField(default=0)
    average_price = models.DecimalField(default=Decimal("0"), max_digits=16, decimal_places=4)
    # What the open quantity cost, exactly; average_price is this over |quantity|, rounded for display.
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
        constraints = [
            models.UniqueConstraint(fields=["account", "instrument", "product"], name="position_account_instrument")
        ]

    def __str__(self):
        return f"{self.quantity} {self.instrument} {self.product}"


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


class BarFields(models.Model):
    """OHLCV of one instrument over one interval starting at `ts` (UTC stored; buckets aligned in IST)."""

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+", db_index=False)
    ts = models.DateTimeField()
    open = models.DecimalField(**PRICE)
    high = models.DecimalField(**PRICE)
    low = models.DecimalField(**PRICE)
    close = models.DecimalField(**PRICE)
    volume = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.instrument_id} {self.ts:%Y-%m-%d %H:%M} C {self.close}"


class MinuteBar(BarFields):
    """1-minute bars, built by the feed process. The table is partitioned by month in PostgreSQL
    (migration 0003): `trading.bars.partitions_ensure` creates partitions ahead of time, and retention
    drops whole months."""

    pk = models.CompositePrimaryKey("instrument", "ts")

    class Meta:
        db_table = "trading_minutebar"


class HourBar(BarFields):
    """1-hour bars rolled up from minute bars; hours start at 09:15 IST, the session open."""

    pk = models.CompositePrimaryKey("instrument", "ts")

    class Meta:
        db_table = "trading_hourbar"


class DayBar(BarFields):
    """1-day bars rolled up from minute bars; days start at midnight IST."""

    pk = models.CompositePrimaryKey("instrument", "ts")

    class Meta:
        db_table = "trading_daybar"


class ApprovalRequest(models.Model):
    """Maker-checker: a change that loosens risk control (raising a limit, resuming a halted account)
    waits here until a second person with the ops or admin role approves it. Requester and approver are
    both kept here and in the audit trail; nobody approves their own request."""

    class Kind(models.TextChoices):
        LIMITS_RAISE = "limits_raise", "Raise risk limits"
        ACCOUNT_RESUME = "account_resume", "Resume a stopped account"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        EXPIRED = "expired", "Expired"

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="approval_requests")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # For limits: {"field": "new value"} as text (Decimals kept exact).
    changes = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approvals_requested"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="approvals_decided"
    )
    decision_note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_approvalrequest", "Can approve or reject another person's request")]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return f"{self.get_kind_display()} on {self.account} ({self.status})"


class KiteLink(models.Model):
    """A trading account's link to a Zerodha Kite Connect app: the app's key, its secret and the day's
    access token (both encrypted at rest, tradingsite.encryption), and when that token expires."""

    account = models.OneToOneField(TradingAccount, on_delete=models.CASCADE, related_name="kite_link")
    api_key = models.CharField(max_length=64)
    api_secret_encrypted = models.TextField()
    access_token_encrypted = models.TextField(blank=True)
    kite_user_id = models.CharField(max_length=32, blank=True)
    logged_in_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # The last reconciliation: what it found and did, and the mismatches beyond tolerance, if any.
    reconcile_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Kite app {self.api_key} for {self.account}"


class BrokerUpdate(models.Model):
    """One order update received from the broker (a Kite postback or ticker order message), kept so a
    repeated or stale update is recognised and refused rather than applied twice or out of order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="broker_updates")
    source = models.CharField(max_length=16)
    digest = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the source and the update's content.")
    exchange_update_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=32)
    filled_quantity = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["order", "exchange_update_at"])]

    def __str__(self):
        return f"{self.source} update of order {self.order_id}: {self.status}"
