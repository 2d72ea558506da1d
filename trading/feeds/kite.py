"""Kite's live prices for the feed process (FEED=kite): KiteTicker in threaded mode, its ticks turned into
the platform's `Tick`s (with the `Quote` of quote and full modes) and handed to `FeedRunner`.

KiteTicker runs on Twisted's reactor, which runs once per process: it is started in a daemon thread the
first time a feed connects and never stopped (a stopped reactor cannot start again); feeds only open and
close their connections, always from the reactor's thread. Kite allows 3000 instruments a connection and
three connections an API key, so up to 9000 instruments are spread over as few connections as hold them.
A dropped connection is re-opened by KiteTicker with backoff, and it re-subscribes what it held in the
modes they were in. The ticker's order messages (text frames) go through the same idempotent update path
as postbacks.
"""

import asyncio
import collections
import functools
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal

import daphne.server  # noqa: F401 - before kiteconnect: daphne installs the asyncio Twisted reactor first
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from kiteconnect import KiteTicker

from trading.feeds.base import DepthLevel, FeedInstrument, Quote, Tick
from trading.kite.client import kite_link_named, kite_live_client
from trading.kite.reconcile import kite_reconcile
from trading.kite.updates import kite_ticker_order_update
from trading.models import KiteLink
from tradingsite.encryption import decrypt
from tradingsite.exceptions import ValidationError

logger = logging.getLogger("trading.feed")

# Ticks waiting for the feed loop, at most; beyond it the oldest give way (the newest prices matter).
PENDING_MOST = 200_000
TOKENS_PER_CONNECTION = 3000
CONNECTIONS_PER_API_KEY = 3
MODES = ("ltp", "quote", "full")

_reactor_lock = threading.Lock()


def reactor_thread_start() -> None:
    """Twisted's reactor running in a daemon thread (once per process)."""
    from twisted.internet import reactor

    with _reactor_lock:
        if not reactor.running:
            threading.Thread(
                target=reactor.run, kwargs={"installSignalHandlers": False}, name="kite-reactor", daemon=True
            ).start()
            deadline = time.monotonic() + 10
            while not reactor.running:
                if time.monotonic() > deadline:
                    raise RuntimeError("Twisted's reactor did not start in 10 s")
                time.sleep(0.01)


def in_reactor(function, *args, **kwargs) -> None:
    from twisted.internet import reactor

    reactor.callFromThread(function, *args, **kwargs)


# The packet sizes kiteconnect parses: LTP; an index's quote and full; a quote; a full packet with depth.
PACKET_LENGTHS = frozenset({8, 28, 32, 44, 184})


def frame_packets(frame: bytes) -> tuple[list[bytes], str | None]:
    """Kite's binary frame (a uint16 packet count, then each packet after its uint16 length) as the
    packets that are whole and of a size kiteconnect parses, and what is wrong with the rest (None when
    nothing is). A packet of another size is skipped, as kiteconnect skips it."""
    count = int.from_bytes(frame[:2], "big") if len(frame) >= 2 else 0
    packets, at = [], 2
    for number in range(1, count + 1):
        header = frame[at : at + 2]
        length = int.from_bytes(header, "big")
        packet = frame[at + 2 : at + 2 + length]
        if len(header) < 2 or len(packet) < length:
            return packets, (
                f"a binary frame of {len(frame)} bytes announces {count} packets and breaks off in packet {number}"
            )
        if length in PACKET_LENGTHS:
            packets.append(packet)
        at += 2 + length
    return packets, None


class FeedTicker(KiteTicker):
    """KiteTicker, refusing the messages it cannot read instead of raising: an error escaping its message
    handler reaches autobahn, which drops the connection, and every instrument on it goes without ticks
    until the reconnection. A broken frame's whole packets are kept; what is wrong is logged."""

    def _split_packets(self, frame: bytes) -> list[bytes]:
        packets, problem = frame_packets(frame)
        if problem:
            logger.warning("Kite ticker: %s; the rest of the frame is dropped", problem)
        return packets

    def _parse_text_message(self, payload) -> None:
        try:
            message = json.loads(payload)
        except (ValueError, RecursionError):
            message = None
        if not isinstance(message, dict):
            logger.warning("Kite ticker: a text message that is not a JSON object is ignored: %.200r", payload)
            return
        super()._parse_text_message(payload)


PAISA = Decimal("0.01")


@functools.lru_cache(maxsize=65536)
def decimal_of(value, quantum: Decimal = PAISA) -> Decimal | None:
    """KiteTicker's float prices (integers over a divisor) as the Decimals they stand for, to `quantum`.
    Cached: a full tick has 15 prices, most of them near the last ones."""
    return None if value is None else Decimal(repr(value)).quantize(quantum)


@functools.lru_cache(maxsize=64)
def price_quantum(tick_size: Decimal) -> Decimal:
    """Two places, or as many as the tick size has (currency derivatives tick in 0.0025)."""
    return Decimal(1).scaleb(min(tick_size.as_tuple().exponent, -2))


def aware(value: datetime | None) -> datetime | None:
    """KiteTicker makes naive local times with `datetime.fromtimestamp`; this makes them aware UTC."""
    if value is None:
        return None
    return value.astimezone(UTC)


def quote_from_kite(packet: dict, quantum: Decimal = PAISA) -> Quote:
    ohlc = packet.get("ohlc") or {}
    depth = packet.get("depth") or {}

    def price(value) -> Decimal | None:
        return decimal_of(value, quantum)

    def levels(side: str) -> tuple[DepthLevel, ...]:
        return tuple(
            DepthLevel(price(level["price"]), level["quantity"], level["orders"]) for level in depth.get(side, [])
        )

    last_price, close = price(packet["last_price"]), price(ohlc.get("close"))

    return Quote(
        mode=packet.get("mode", "ltp"),
        tradable=bool(packet.get("tradable", True)),
        last_quantity=packet.get("last_traded_quantity"),
        average_price=price(packet.get("average_traded_price")),
        volume=packet.get("volume_traded"),
        buy_quantity=packet.get("total_buy_quantity"),
        sell_quantity=packet.get("total_sell_quantity"),
        open=price(ohlc.get("open")),
        high=price(ohlc.get("high")),
        low=price(ohlc.get("low")),
        close=close,
        change=(last_price - close) if close else None,
        last_trade_time=aware(packet.get("last_trade_time")),
        oi=packet.get("oi"),
        oi_day_high=packet.get("oi_day_high"),
        oi_day_low=packet.get("oi_day_low"),
        timestamp=aware(packet.get("exchange_timestamp")),
        depth_buy=levels("buy"),
        depth_sell=levels("sell"),
    )


class KiteFeed:
    """Ticks from Kite for `instruments`, in `mode`. `instruments_source`, when given, is re-read every
    `refresh_seconds`: instruments new to it are subscribed, those gone from it unsubscribed.
    `order_update` receives the ticker's order messages (in a worker thread, with database access)."""

    def __init__(
        self,
        instruments: list[FeedInstrument],
        *,
        api_key: str,
        access_token: str,
        mode: str = "full",
        root: str | None = None,
        order_update: Callable[[dict], object] | None = None,
        instruments_source: Callable[[], list[FeedInstrument]] | None = None,
        refresh_seconds: float = 60.0,
        reconnect_max_delay: int = 5,
    ):
        if mode not in MODES:
            raise ValidationError(f"the Kite feed mode must be one of {', '.join(MODES)}, not {mode!r}")
        if not instruments:
            raise ValidationError("the Kite feed has no instruments: import the instrument master first")
        self.check_capacity(len(instruments))
        self.api_key, self.access_token, self.mode, self.root = api_key, access_token, mode, root
        self.order_update = order_update
        self.instruments_source = instruments_source
        self.refresh_seconds = refresh_seconds
        self.reconnect_max_delay = reconnect_max_delay
        self.instruments = {instrument.instrument_token: instrument for instrument in instruments}
        self.tickers: list[KiteTicker] = []
        self.held: list[set[int]] = []  # the tokens each connection is to hold
        self.day_volume: dict[int, int] = {}
        self.pending: collections.deque[Tick] = collections.deque(maxlen=PENDING_MOST)
        self.updates: collections.deque[dict] = collections.deque()
        self.reconnects = 0  # connections re-opened after a drop
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._signalled = False
        self._lock = threading.Lock()  # `held` and the wake-up flag, shared with the reactor's thread
        self._failed: str | None = None
        self._opened: set[int] = set()

    @staticmethod
    def check_capacity(count: int) -> None:
        most = TOKENS_PER_CONNECTION * CONNECTIONS_PER_API_KEY
        if count > most:
            raise ValidationError(
                f"Kite streams at most {most} instruments ({CONNECTIONS_PER_API_KEY} connections of "
                f"{TOKENS_PER_CONNECTION}); {count} were asked for: name fewer in FEED_INSTRUMENTS"
            )

    # --- the reactor's side -------------------------------------------------------------------------

    def ticker_make(self, index: int) -> KiteTicker:
        ticker = FeedTicker(
            self.api_key,
            self.access_token,
            root=self.root,
            reconnect=True,
            reconnect_max_delay=self.reconnect_max_delay,
        )
        ticker.on_connect = lambda ws, response: self.on_connect(index, ws)
        ticker.on_ticks = self.on_ticks
        ticker.on_reconnect = self.on_reconnect
        ticker.on_noreconnect = self.on_noreconnect
        ticker.on_error = lambda ws, code, reason: logger.warning("Kite ticker %d: error %s %s", index, code, reason)
        if index == 0:  # every connection of a user gets the user's order messages: one applies them
            ticker.on_order_update = self.on_order_update
        return ticker

    def on_connect(self, index: int, ticker: KiteTicker) -> None:
        with self._lock:
            tokens = sorted(self.held[index])
        if not ticker.subscribed_tokens:  # a reconnection re-subscribes by itself (KiteTicker.resubscribe)
            if tokens:
                ticker.subscribe(tokens)
                ticker.set_mode(self.mode, tokens)
        logger.info("Kite ticker %d connected with %d instruments", index, len(tokens))
        if index in self._opened:
            self.reconnects += 1
        self._opened.add(index)

    def on_reconnect(self, ticker: KiteTicker, attempts: int) -> None:
        logger.warning("Kite ticker reconnecting (attempt %d)", attempts)

    def on_noreconnect(self, ticker: KiteTicker) -> None:
        self._failed = "the Kite ticker gave up reconnecting (is the day's Kite session still live?)"
        self.signal()

    def on_ticks(self, ticker: KiteTicker, packets: list[dict]) -> None:
        ticks = []
        for packet in packets:
            instrument = self.instruments.get(packet.get("instrument_token"))
            if instrument is None:
                continue
            quantum = price_quantum(instrument.tick_size)
            quote = quote_from_kite(packet, quantum)
            volume = 0
            if quote.volume is not None:
                before = self.day_volume.get(instrument.instrument_token)
                self.day_volume[instrument.instrument_token] = quote.volume
                if before is not None:
                    volume = quote.volume - before if quote.volume >= before else quote.volume  # a new day
            ts = quote.timestamp or datetime.now(UTC)
            price = decimal_of(packet["last_price"], quantum)
            ticks.append(Tick(instrument.instrument_id, instrument.instrument_token, price, volume, ts, quote))
        if ticks:
            self.pending.extend(ticks)
            self.signal()

    def on_order_update(self, ticker: KiteTicker, data: dict) -> None:
        if not isinstance(data, dict):
            logger.warning("Kite ticker: an order message whose data is not a JSON object is ignored: %.200r", data)
            return
        self.updates.append(data)
        self.signal()

    def signal(self) -> None:
        with self._lock:
            if self._signalled or self._loop is None:
                return
            self._signalled = True
        self._loop.call_soon_threadsafe(self._wake.set)

    # --- the asyncio side ---------------------------------------------------------------------------

    def plan(self, tokens: list[int]) -> list[set[int]]:
        count = max(1, -(-len(tokens) // TOKENS_PER_CONNECTION))
        return [set(tokens[n * TOKENS_PER_CONNECTION : (n + 1) * TOKENS_PER_CONNECTION]) for n in range(count)]

    def start(self) -> None:
        reactor_thread_start()
        self.held = self.plan(sorted(self.instruments))
        self.tickers = [self.ticker_make(index) for index in range(len(self.held))]
        for ticker in self.tickers:
            in_reactor(ticker.connect, threaded=True)

    def close(self) -> None:
        for ticker in self.tickers:
            in_reactor(ticker.close)

    def subscribe(self, instruments: list[FeedInstrument]) -> None:
        """Add instruments: to connections with room, opening another where none has (up to three)."""
        new = [i for i in instruments if i.instrument_token not in self.instruments]
        self.check_capacity(len(self.instruments) + len(new))
        added: dict[int, list[int]] = {}
        opened = []
        with self._lock:
            for instrument in new:
                self.instruments[instrument.instrument_token] = instrument
                index = next((n for n, held in enumerate(self.held) if len(held) < TOKENS_PER_CONNECTION), None)
                if index is None:
                    self.held.append(set())
                    index = len(self.held) - 1
                    self.tickers.append(self.ticker_make(index))
                    opened.append(index)
                self.held[index].add(instrument.instrument_token)
                added.setdefault(index, []).append(instrument.instrument_token)
        for index, tokens in added.items():
            if index not in opened:  # a new connection subscribes what it holds when it opens
                in_reactor(self._send_subscribe, index, tokens)
        for index in opened:
            in_reactor(self.tickers[index].connect, threaded=True)

    def unsubscribe(self, tokens: list[int]) -> None:
        with self._lock:
            gone_by_index = {}
            for index, held in enumerate(self.held):
                gone = sorted(held & set(tokens))
                if gone:
                    held.difference_update(gone)
                    gone_by_index[index] = gone
        for index, gone in gone_by_index.items():
            in_reactor(self._send_unsubscribe, self.tickers[index], gone)
        for token in tokens:
            self.instruments.pop(token, None)
            self.day_volume.pop(token, None)

    def _send_subscribe(self, index: int, tokens: list[int]) -> None:
        ticker = self.tickers[index]
        if ticker.is_connected():
            ticker.subscribe(tokens)
            ticker.set_mode(self.mode, tokens)
        elif index in self._opened:  # between reconnections: its re-subscription takes these too
            for token in tokens:
                ticker.subscribed_tokens[token] = self.mode
        # else: not open yet; it subscribes everything it holds when it opens

    def _send_unsubscribe(self, ticker: KiteTicker, tokens: list[int]) -> None:
        if ticker.is_connected():
            ticker.unsubscribe(tokens)
        else:
            for token in tokens:
                ticker.subscribed_tokens.pop(token, None)

    async def refresh(self) -> None:
        current = await sync_to_async(self._instruments_read, thread_sensitive=True)()
        wanted = {instrument.instrument_token: instrument for instrument in current}
        gone = [token for token in self.instruments if token not in wanted]
        if gone:
            self.unsubscribe(gone)
        added = [instrument for token, instrument in wanted.items() if token not in self.instruments]
        if added:
            try:
                self.subscribe(added)
            except ValidationError as exc:
                logger.error("not subscribing %d new instruments: %s", len(added), exc)
        if gone or added:
            logger.info("Kite feed: %d instruments subscribed, %d unsubscribed", len(added), len(gone))

    def _instruments_read(self) -> list[FeedInstrument]:
        close_old_connections()
        return self.instruments_source()

    def _updates_apply(self, updates: list[dict]) -> None:
        close_old_connections()
        for update in updates:
            try:
                self.order_update(update)
            except Exception:
                logger.exception("applying Kite order update %s failed", update.get("order_id"))

    async def batches(self) -> AsyncIterator[list[Tick]]:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.start()
        next_refresh = self._loop.time() + self.refresh_seconds
        try:
            while True:
                timeout = max(next_refresh - self._loop.time(), 0) if self.instruments_source else None
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout)
                except TimeoutError:
                    pass
                self._wake.clear()
                with self._lock:
                    self._signalled = False
                if self._failed:
                    raise RuntimeError(self._failed)
                if self.updates and self.order_update is not None:
                    updates = [self.updates.popleft() for _ in range(len(self.updates))]
                    await sync_to_async(self._updates_apply, thread_sensitive=True)(updates)
                if self.pending:
                    yield [self.pending.popleft() for _ in range(len(self.pending))]
                if self.instruments_source and self._loop.time() >= next_refresh:
                    next_refresh = self._loop.time() + self.refresh_seconds
                    await self.refresh()
        finally:
            self.close()
            self._loop = None


def feed_link() -> KiteLink:
    """The Kite link whose session streams prices: FEED_KITE_ACCOUNT (an id or a name), else the only one."""
    try:
        link = kite_link_named(settings.FEED_KITE_ACCOUNT)
    except ValidationError as exc:
        raise ValidationError(f"FEED=kite: {exc} (FEED_KITE_ACCOUNT)") from exc
    kite_live_client(link)  # refuses, asking for a login, when the day's session has ended
    return link


def kite_feed_from_settings() -> KiteFeed:
    from trading.feeds.base import feed_instruments

    link = feed_link()
    # Starting up: take in what happened at Kite while no feed was listening for its order messages.
    logger.info("Kite reconciliation at feed start: %s", kite_reconcile(link))

    def instruments() -> list[FeedInstrument]:
        return feed_instruments(settings.FEED_INSTRUMENTS, priced_only=False)

    return KiteFeed(
        instruments(),
        api_key=link.api_key,
        access_token=decrypt(link.access_token_encrypted),
        mode=settings.FEED_KITE_MODE,
        root=settings.KITE_TICKER_ROOT,
        order_update=kite_ticker_order_update,
        instruments_source=instruments,
        refresh_seconds=settings.FEED_KITE_REFRESH_SECONDS,
    )
