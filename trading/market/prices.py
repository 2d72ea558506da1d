"""The latest price per instrument: Redis first (the feed writes it every tick), the database as fallback."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from trading.models import DayBar, Instrument, MinuteBar
from tradingsite.ist import ist_day_start


def price_key(instrument_token: int) -> str:
    return f"price:last:{instrument_token}"


def quote_key(instrument_token: int) -> str:
    return f"price:quote:{instrument_token}"


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


def quotes_latest(tokens: list[int], *, market: bool = True) -> list[dict]:
    """Latest prices for these instrument tokens (unknown ones left out), saying where each came from;
    with the feed's quote (OHLC, depth) unless `market` is False (then `market` is None)."""
    instruments = list(Instrument.objects.filter(instrument_token__in=tokens).order_by("tradingsymbol"))
    keys = [price_key(i.instrument_token) for i in instruments]
    if market:
        keys += [quote_key(i.instrument_token) for i in instruments]
    try:
        cached = cache.get_many(keys)
    except Exception:  # Redis down: the database copy is the fallback
        cached = {}
    closes = previous_closes([instrument.pk for instrument in instruments])
    quotes = []
    for instrument in instruments:
        live = cached.get(price_key(instrument.instrument_token))
        if live is not None:
            price, source = Decimal(live), "redis"
        elif instrument.last_price is not None:
            price, source = instrument.last_price, "database"
        else:
            price, source = None, "none"
        quotes.append(
            {
                "instrument_token": instrument.instrument_token,
                "exchange": instrument.exchange,
                "tradingsymbol": instrument.tradingsymbol,
                "last_price": price,
                "source": source,
                "previous_close": closes.get(instrument.pk),
                # from the feed (Kite's, or the simulated one): day totals, OHLC, open interest, depth; else null
                "market": cached.get(quote_key(instrument.instrument_token)),
            }
        )
    return quotes


def previous_closes(instrument_ids: list[int], *, at: datetime | None = None) -> dict[int, Decimal]:
    """What a day's change is measured from: the close of the latest daily bar before today (IST), or
    where there is none (a new instrument, a first day of data) today's first traded price."""
    if not instrument_ids:
        return {}
    day_start = ist_day_start(at)
    closes = dict(
        DayBar.objects.filter(instrument_id__in=instrument_ids, ts__lt=day_start)
        .order_by("instrument_id", "-ts")
        .distinct("instrument_id")
        .values_list("instrument_id", "close")
    )
    missing = [pk for pk in instrument_ids if pk not in closes]
    if missing:
        closes.update(
            MinuteBar.objects.filter(instrument_id__in=missing, ts__gte=day_start)
            .order_by("instrument_id", "ts")
            .distinct("instrument_id")
            .values_list("instrument_id", "open")
        )
    return closes
