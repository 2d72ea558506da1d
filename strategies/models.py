"""Backtest runs: what was asked (strategy, parameters, instruments, dates, costs) and what came out
(figures, trades, daily equity), with the result hash that makes a run reproducible."""

from decimal import Decimal

from django.conf import settings
from django.db import models

from trading.models.numbers import MONEY


class Sweep(models.Model):
    """A walk-forward parameter sweep: the dates cut into folds + 1 windows; fold k runs every
    combination of `grid` over windows 0..k-1 (train), picks the best by `metric`, and runs that one
    over window k (test). Its runs are ordinary backtest runs, fanned out over the Celery workers."""

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    strategy_name = models.CharField(max_length=64)
    grid = models.JSONField(help_text="Each parameter's values to try; unlisted ones take their default.")
    metric = models.CharField(max_length=16, default="sharpe")
    folds = models.PositiveSmallIntegerField(default=3)
    shared = models.JSONField(default=dict, help_text="What every run shares: instruments, interval, costs.")
    start = models.DateField()
    end = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    results = models.JSONField(default=list, blank=True, help_text="Per fold: dates, best parameters, test figures.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"sweep {self.pk} {self.strategy_name} [{self.status}]"


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
    sweep = models.ForeignKey(Sweep, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    fold = models.PositiveSmallIntegerField(null=True, blank=True)
    stage = models.CharField(max_length=5, blank=True, choices=[("train", "Train"), ("test", "Test")])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self):
        return f"{self.strategy_name} {self.start}..{self.end} [{self.status}]"
