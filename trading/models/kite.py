"""Kite Connect links (app credentials and the day's session, encrypted) and the broker updates received."""

from django.db import models

from trading.models.accounts import TradingAccount
from trading.models.orders import Order


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
