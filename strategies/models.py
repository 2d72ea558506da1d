"""Backtest runs: what was asked (strategy, parameters, instruments, dates, costs) and what came out
(figures, trades, daily equity), with the result hash that makes a run reproducible."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from trading.models.numbers import MONEY


class BacktestRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    strategy_name = models.CharField(max_length=64, help_text="A built-in strategy (strategies/library.py).")
    parameters = models.JSONField(default=dict, blank=True)
    instruments = models.JSONField(default=list, help_text='Instruments as "EXCHANGE:SYMBOL".')
    interval = models.CharField(max_length=4, default="1d")
    start = models.DateField()
    end = models.DateField(help_text="Included.")
    capital = models.DecimalField(default=Decimal("1000000"), **MONEY)
    slippage_bps = models.DecimalField(default=Decimal("0"), max_digits=8, decimal_places=2)
    participation = models.DecimalField(default=Decimal("0"), max_digits=5, decimal_places=4)
    charges = models.BooleanField(default=True)
    product = models.CharField(max_length=4, default="CNC")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    result_hash = models.CharField(max_length=64, blank=True)
    code_version = models.CharField(max_length=16, blank=True)
    figures = models.JSONField(default=dict, blank=True)
    trades = models.JSONField(default=list, blank=True)
    equity = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"{self.strategy_name} {self.start}..{self.end} [{self.status}]"
