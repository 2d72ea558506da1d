"""The latest price per instrument: Redis first (the feed writes it every tick), the database as fallback."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from .models import Instrument


def price_key(instrument_token: int) -> str:
    return f"price:last:{instrument_token}"


def price_last(instrument: Instrument) -> Decimal | None:
    try:
        cached = cache.get(price_key(instrument.instrument_token))
    except Exception:  # Redis down: the database copy is the fallback, not an error
        cached = None
    if cached is not None:
        return Decimal(cached)
    return instrument.last_price


def price_record(*, instrument: Instrument, price: Decimal, volume: int = 0, at: datetime | None = None) -> None:
    """Store a traded price: in the database (durable) and in Redis (fast, short-lived)."""
    at = at or timezone.now()
    Instrument.objects.filter(pk=instrument.pk).update(last_price=price, last_price_at=at, last_volume=volume)
    instrument.last_price, instrument.last_price_at, instrument.last_volume = price, at, volume
    try:
        cache.set(price_key(instrument.instrument_token), str(price), timeout=settings.PRICE_CACHE_SECONDS)
    except Exception:  # noqa: S110 - the database already holds the price
        pass
