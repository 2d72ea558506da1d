"""Trading accounts with their risk limits, strategies, and the approvals that raise a limit or resume an account."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from trading.models.numbers import MONEY


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
    # What the strategy runner runs (kind "rule"): a built-in strategy by name, over these instruments'
    # bars ("EXCHANGE:SYMBOL"), deciding at each close of `interval` bars, trading `product`.
    logic = models.CharField(max_length=64, blank=True, help_text="A built-in strategy, e.g. sma_crossover.")
    instruments = models.JSONField(default=list, blank=True)
    interval = models.CharField(max_length=4, default="1m")
    product = models.CharField(max_length=4, default="CNC")
    # Why the runner stopped it (it raised, or cannot run as configured); cleared when re-enabled.
    disabled_reason = models.TextField(blank=True)
    last_decided_at = models.DateTimeField(null=True, blank=True, help_text="The bar it last decided on.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "strategies"
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="strategy_account_name")]

    def __str__(self):
        return self.name


class ApprovalRequest(models.Model):
    """Maker-checker: a change that loosens risk control (raising a limit, resuming a halted account)
    waits here until a second person with the ops or admin role approves it. Requester and approver are
    both kept here and in the audit trail; nobody approves their own request."""

    class Kind(models.TextChoices):
        LIMITS_RAISE = "limits_raise", "Raise risk limits"
        ACCOUNT_RESUME = "account_resume", "Resume a stopped account"
        AGENT_PROMOTE = "agent_promote", "Put an RL agent's policy into live trading"

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
