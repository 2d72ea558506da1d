"""Instruments (Kite's instrument master) and their bars, in Kite Connect's field names."""

from decimal import Decimal

from django.db import models

from trading.models.numbers import PRICE


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
    (migration 0003): `trading.market.bars.partitions_ensure` creates partitions ahead of time, and retention
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
