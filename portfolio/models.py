from decimal import Decimal

from django.db import models

from trading.models import MONEY, TradingAccount


class PnlDaily(models.Model):
    """One trading day's P&L for an account (IST date), kept by a beat job after the close."""

    account = models.ForeignKey(TradingAccount, on_delete=models.PROTECT, related_name="daily_pnl")
    date = models.DateField()
    realised = models.DecimalField(default=Decimal("0"), **MONEY)
    unrealised = models.DecimalField(default=Decimal("0"), **MONEY)
    charges = models.DecimalField(default=Decimal("0"), **MONEY)
    total = models.DecimalField(default=Decimal("0"), **MONEY)
    cash = models.DecimalField(default=Decimal("0"), **MONEY)
    # Cash plus the open positions at the day's marks: delivery holdings at their market value, intraday
    # ones at their unrealised P&L (only that settles into cash). Empty on rows kept before it was.
    equity = models.DecimalField(null=True, blank=True, **MONEY)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "daily P&L"
        verbose_name_plural = "daily P&L"
        constraints = [models.UniqueConstraint(fields=["account", "date"], name="pnl_daily_account_date")]
        ordering = ["-date"]

    def __str__(self):
        return f"{self.account} {self.date}: {self.total}"
