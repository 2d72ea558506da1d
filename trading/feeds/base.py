"""Market-data feeds: where ticks come from. The feed process (`trading.feeds.runner`) consumes any of them.

A feed is an async iterable of batches of `Tick`s, in time order per instrument, paced by the feed
itself: the simulated feed by its tick rate, a replay by its speed, Kite's by the market.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models.functions import Mod

from trading.market.prices import previous_closes
from trading.models import Instrument

SESSION_MINUTES = 375
# Seconds of trading in a year: 252 sessions of 6 h 15 min; scales annual volatility to a tick.
TRADING_SECONDS_PER_YEAR = 252 * SESSION_MINUTES * 60


@dataclass(frozen=True)
class FeedInstrument:
    instrument_id: int
    instrument_token: int
    tradingsymbol: str
    tick_size: Decimal
    reference_price: Decimal
    previous_close: Decimal | None = None  # the last daily close before today, where it is known


@dataclass(frozen=True, slots=True)
class DepthLevel:
    price: Decimal
    quantity: int
    orders: int


@dataclass(frozen=True, slots=True)
class Quote:
    """What an exchange feed says beyond the traded price (Kite's quote and full modes): the day's
    totals, OHLC, open interest and five levels of depth. Fields a mode does not carry are None."""

    mode: str  # ltp, quote or full
    tradable: bool
    last_quantity: int | None = None
    average_price: Decimal | None = None
    volume: int | None = None  # the day's traded volume so far
    buy_quantity: int | None = None
    sell_quantity: int | None = None
    open: Decimal | None = None
    high: Decimal | None = None
    low: Decimal | None = None
    close: Decimal | None = None  # the previous session's close
    change: Decimal | None = None  # last price less the previous close
    last_trade_time: datetime | None = None
    oi: int | None = None
    oi_day_high: int | None = None
    oi_day_low: int | None = None
    timestamp: datetime | None = None  # the exchange's time of the tick
    depth_buy: tuple[DepthLevel, ...] = ()
    depth_sell: tuple[DepthLevel, ...] = ()

    def as_message(self) -> dict:
        """JSON-ready: Decimals as strings, times as ISO 8601, fields the mode does not carry left out."""
        message = {"mode": self.mode, "tradable": self.tradable}
        for name in QUOTE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                message[name] = value if isinstance(value, int) else str(value)
        for name in ("last_trade_time", "timestamp"):
            value = getattr(self, name)
            if value is not None:
                message[name] = value.isoformat()
        if self.depth_buy or self.depth_sell:
            message["depth_buy"] = [
                {"price": str(level.price), "quantity": level.quantity, "orders": level.orders}
                for level in self.depth_buy
            ]
            message["depth_sell"] = [
                {"price": str(level.price), "quantity": level.quantity, "orders": level.orders}
                for level in self.depth_sell
            ]
        return message


QUOTE_FIELDS = (
    "last_quantity",
    "average_price",
    "volume",
    "buy_quantity",
    "sell_quantity",
    "open",
    "high",
    "low",
    "close",
    "change",
    "oi",
    "oi_day_high",
    "oi_day_low",
)


@dataclass(frozen=True, slots=True)
class Tick:
    instrument_id: int
    instrument_token: int
    price: Decimal
    volume: int  # traded since the instrument's previous tick
    ts: datetime  # when the feed produced (or the market printed) it
    quote: Quote | None = None


def feed_instruments(
    symbols: list[str] | None = None, *, priced_only: bool = True, closes: bool = False
) -> list[FeedInstrument]:
    """The named instruments, or all, of this feed's shard (FEED_SHARD of FEED_SHARDS); only those with a
    last price unless `priced_only` is off (an exchange feed prices them itself). With `closes`, each
    carries its previous close (one more query), for a feed that makes its own day's quote."""
    instruments = Instrument.objects.order_by("pk")
    if settings.FEED_SHARDS > 1:
        instruments = instruments.alias(shard=Mod("instrument_token", settings.FEED_SHARDS))
        instruments = instruments.filter(shard=settings.FEED_SHARD)
    if priced_only:
        instruments = instruments.exclude(last_price=None)
    if symbols:
        instruments = instruments.filter(tradingsymbol__in=[symbol.upper() for symbol in symbols])
    instruments = list(instruments)
    close_of = previous_closes([i.pk for i in instruments]) if closes else {}
    return [
        FeedInstrument(
            i.pk,
            i.instrument_token,
            i.tradingsymbol,
            i.tick_size.normalize(),
            i.last_price or Decimal(0),
            close_of.get(i.pk),
        )
        for i in instruments
    ]
