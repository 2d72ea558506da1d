"""Ticks into a web process once, out to every market socket that wants them.

The feed publishes each tick to its instrument's channel-layer group (`ticks.<token>`). Joining every
socket to those groups costs one Redis message and one consumer dispatch per tick per socket: with
200 instruments at 10 ticks/s and 100 sockets that is tens of thousands of dispatches a second, more
than a web process can do. The hub instead subscribes once per process to each group's pub/sub channel
that some local socket wants, and hands each tick to those sockets with a plain method call; sockets
then coalesce and send as before.

One hub per event loop (a process has one in production; tests run several loops one after another).
"""

import asyncio
import logging
from collections import defaultdict
from typing import Protocol

import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings

from trading.realtime.streams import pubsub_channel, tick_group

logger = logging.getLogger(__name__)


class TickReceiver(Protocol):
    def tick_received(self, tick: dict) -> None: ...


class MarketHub:
    def __init__(self):
        self.layer = get_channel_layer()
        self.redis = aioredis.Redis.from_url(settings.REDIS_URL)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.receivers: dict[str, set[TickReceiver]] = defaultdict(set)
        self.listener: asyncio.Task | None = None

    async def subscribe(self, receiver: TickReceiver, tokens) -> None:
        new = []
        for token in tokens:
            channel = pubsub_channel(tick_group(token))
            if not self.receivers[channel]:
                new.append(channel)
            self.receivers[channel].add(receiver)
        if new:
            await self.pubsub.subscribe(*new)
        if self.listener is None or self.listener.done():
            self.listener = asyncio.get_running_loop().create_task(self.listen())

    async def unsubscribe(self, receiver: TickReceiver, tokens) -> None:
        gone = []
        for token in tokens:
            channel = pubsub_channel(tick_group(token))
            receivers = self.receivers.get(channel)
            if receivers is None:
                continue
            receivers.discard(receiver)
            if not receivers:
                del self.receivers[channel]
                gone.append(channel)
        if gone:
            await self.pubsub.unsubscribe(*gone)

    async def listen(self) -> None:
        while True:
            try:
                message = await self.pubsub.get_message(timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis restarted: resubscribe to what the sockets want, keep going
                logger.warning("market hub lost Redis; resubscribing", exc_info=True)
                await asyncio.sleep(0.5)
                await self.resubscribe()
                continue
            if message is None:
                if not self.receivers:
                    return  # nothing wanted: the next subscribe starts a listener again
                continue
            channel = message["channel"].decode()
            receivers = self.receivers.get(channel)
            if not receivers:
                continue
            tick = self.layer.deserialize(message["data"])
            for receiver in tuple(receivers):
                receiver.tick_received(tick)

    async def resubscribe(self) -> None:
        try:
            await self.pubsub.reset()
            if self.receivers:
                await self.pubsub.subscribe(*self.receivers)
        except Exception:
            logger.warning("market hub could not resubscribe yet", exc_info=True)


_hubs: dict[asyncio.AbstractEventLoop, MarketHub] = {}


def market_hub() -> MarketHub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        for old in [old for old in _hubs if old.is_closed()]:
            del _hubs[old]
        hub = _hubs[loop] = MarketHub()
    return hub
