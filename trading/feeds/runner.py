"""The feed process: ticks in; latest prices, websocket groups, minute bars and paper fills out.

Per batch of ticks: publish each tick to its instrument's channel-layer group (`ticks.<token>`), store
the latest prices in Redis, fold the ticks into minute bars, and work the paper exchange's resting
orders in the instruments that have any. Every FEED_FLUSH_SECONDS: write the bar increments and the last
prices to PostgreSQL and re-read which instruments have resting orders.
"""

import asyncio
import logging
import time

import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.cache import cache
from django.db import Error as DatabaseFailure
from django.db import close_old_connections, connection, connections, transaction

from trading import metrics
from trading.brokers.paper import instruments_with_resting_orders, resting_orders_work
from trading.market.bars import Bar, BarBuilder, bars_write, partitions_ensure
from trading.market.prices import price_key, quote_key
from trading.realtime.streams import pubsub_channel, tick_group
from tradingsite.heartbeat import EVERY_SECONDS, beat

logger = logging.getLogger("trading.feed")


LAST_PRICES_SQL = """
UPDATE trading_instrument i
   SET last_price = v.price, last_price_at = v.ts, last_volume = v.volume
  FROM unnest(%s::bigint[], %s::numeric[], %s::timestamptz[], %s::bigint[]) AS v(id, price, ts, volume)
 WHERE i.id = v.id
"""


def ticks_count(batch) -> None:
    shard = str(settings.FEED_SHARD)
    now = time.time()
    newest = 0.0
    for tick in batch:
        stamp = tick.ts.timestamp()
        newest = max(newest, stamp)
        metrics.tick_lag.observe(max(0.0, now - stamp))
    metrics.feed_ticks.labels(shard).inc(len(batch))
    metrics.feed_last_tick.labels(shard).set(newest)


def bars_merged(bars: list[Bar]) -> list[Bar]:
    """Increments to the same minute bar made one, in order (first open, widest range, last close, summed
    volume): one upsert may not touch a row twice."""
    merged: dict[tuple, Bar] = {}
    for bar in bars:
        key = (bar.instrument_id, bar.ts)
        first = merged.get(key)
        if first is None:
            merged[key] = bar
            continue
        merged[key] = Bar(
            bar.instrument_id,
            bar.ts,
            first.open,
            max(first.high, bar.high),
            min(first.low, bar.low),
            bar.close,
            first.volume + bar.volume,
        )
    return list(merged.values())


class FeedRunner:
    def __init__(self, feed, *, flush_seconds: float | None = None):
        self.feed = feed
        self.flush_seconds = settings.FEED_FLUSH_SECONDS if flush_seconds is None else flush_seconds
        self.layer = get_channel_layer()
        self.builder = BarBuilder()
        self.latest = {}
        self.resting: set[int] = set()
        # Bar increments a flush could not write (the database was away), written first by the next one.
        self.unwritten: list[Bar] = []
        self.ticks = 0
        self._redis: aioredis.Redis | None = None

    async def run(self, stop: asyncio.Event | None = None) -> None:
        stop = stop or asyncio.Event()
        try:
            while True:  # a feed started while PostgreSQL is away waits for it instead of crash-looping
                try:
                    await self.db(partitions_ensure)
                    await self.db(self.flush)
                    break
                except DatabaseFailure:
                    logger.warning("the database cannot be reached at start; trying again", exc_info=True)
                    await asyncio.sleep(2)
                    if stop.is_set():
                        return
            loop = asyncio.get_running_loop()
            next_flush = loop.time() + self.flush_seconds
            # Alive while its event loop turns, ticks or not (none flow outside market hours).
            pulse = asyncio.create_task(self.pulse())
            async for batch in self.feed.batches():
                if stop.is_set():
                    break
                await self.publish(batch)
                self.ticks += len(batch)
                ticks_count(batch)
                working = [tick for tick in batch if tick.instrument_id in self.resting]
                if working:
                    await self.db(self.match, working)
                if loop.time() >= next_flush:
                    next_flush = loop.time() + self.flush_seconds
                    try:
                        await self.db(self.flush)
                    except DatabaseFailure:
                        # PostgreSQL away (a restart, a failover): ticks keep flowing to the sockets and
                        # Redis; the bars wait for the next flush, which reconnects.
                        logger.warning(
                            "flush failed; %d bars wait for the next one", len(self.unwritten), exc_info=True
                        )
        finally:
            if "pulse" in locals():
                pulse.cancel()
            # What the last moments built reaches the database, also when the process is stopped.
            await asyncio.shield(self.db(self.flush_and_close))
            if self._redis is not None:
                await self._redis.aclose()
                self._redis = None

    @staticmethod
    async def pulse() -> None:
        while True:
            beat("feed")
            await asyncio.sleep(EVERY_SECONDS)

    def redis(self) -> aioredis.Redis:
        if self._redis is None:
            # Bounded waits: a Redis that stops answering must not stop the loop that fills resting orders.
            timeout = settings.REDIS_TIMEOUT_SECONDS
            self._redis = aioredis.Redis.from_url(
                settings.REDIS_URL, socket_connect_timeout=timeout, socket_timeout=timeout
            )
        return self._redis

    def flush_and_close(self) -> None:
        try:
            self.flush()
        finally:
            connections.close_all()

    async def publish(self, batch) -> None:
        """Each tick to its instrument's group, as `group_send` on the pub/sub layer would send it (one
        PUBLISH on the group's channel), but all of a batch in one pipelined round trip: 200 awaited
        group_sends took ~30 ms a batch here, the pipeline ~5 ms."""
        # A feed's quote per tick (where it has one), made ready for JSON once for both the sockets and Redis.
        quotes = [tick.quote.as_message() if tick.quote is not None else None for tick in batch]
        if self.layer is not None:
            pipeline = self.redis().pipeline(transaction=False)
            for tick, quote in zip(batch, quotes, strict=True):
                message = {
                    "type": "market.tick",
                    "i": tick.instrument_token,
                    "p": str(tick.price),
                    "v": tick.volume,
                    "t": tick.ts.timestamp(),
                }
                if quote is not None:
                    message["q"] = quote
                pipeline.publish(pubsub_channel(tick_group(tick.instrument_token)), self.layer.serialize(message))
            try:
                await pipeline.execute()
            except Exception:  # Redis down: sockets miss these ticks; bars and matching go on
                logger.warning("could not publish ticks", exc_info=True)
        for tick in batch:
            self.builder.add(tick.instrument_id, tick.price, tick.volume, tick.ts)
            self.latest[tick.instrument_id] = tick
        latest = {price_key(tick.instrument_token): str(tick.price) for tick in batch}
        latest.update(
            {quote_key(tick.instrument_token): quote for tick, quote in zip(batch, quotes, strict=True) if quote}
        )
        try:
            cache.set_many(latest, timeout=settings.PRICE_CACHE_SECONDS)
        except Exception:  # Redis down: prices still reach the database at the next flush
            logger.warning("could not store latest prices in Redis", exc_info=True)

    @staticmethod
    async def db(function, *args):
        return await sync_to_async(FeedRunner.in_connection, thread_sensitive=True)(function, *args)

    @staticmethod
    def in_connection(function, *args):
        close_old_connections()
        return function(*args)

    def match(self, ticks) -> None:
        for tick in ticks:
            try:
                resting_orders_work(instrument_id=tick.instrument_id, price=tick.price, volume=tick.volume)
            except Exception:
                logger.exception("matching instrument %s at %s failed", tick.instrument_token, tick.price)

    def flush(self) -> None:
        started = time.perf_counter()
        self.unwritten = bars = bars_merged(self.unwritten + self.builder.drain())
        bars_write(bars)
        self.unwritten = []
        latest, self.latest = list(self.latest.values()), {}
        if latest:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    LAST_PRICES_SQL,
                    [
                        [tick.instrument_id for tick in latest],
                        [tick.price for tick in latest],
                        [tick.ts for tick in latest],
                        [tick.volume for tick in latest],
                    ],
                )
        self.resting = instruments_with_resting_orders()
        logger.debug(
            "flushed %d bar increments, %d prices in %.1f ms; %d instruments with resting orders",
            len(bars),
            len(latest),
            (time.perf_counter() - started) * 1000,
            len(self.resting),
        )
