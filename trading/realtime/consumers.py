"""Websocket consumers: they authenticate, authorise each subscription and relay; no business logic.

/ws/market/  subscribe and unsubscribe to instruments; ticks are coalesced: a frame at most every
             MARKET_WS_MIN_INTERVAL_MS carries the latest price of each instrument that moved, so a slow
             client gets current prices, never a backlog. Ticks reach the socket from the process's
             market hub (trading/realtime/hub.py), not through a channel-layer group per socket.
/ws/account/ the user's own order, fill and account events (group `user.<id>`, from trading.realtime.streams).
"""

import asyncio
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from audit.services import audit_record
from trading import metrics
from trading.market.prices import quotes_latest
from trading.realtime.hub import market_hub
from trading.realtime.streams import user_group

# Close codes: 4401 not logged in; 4403 the role does not allow this stream; 4400 a malformed message.
MALFORMED = 4400
UNAUTHENTICATED = 4401
FORBIDDEN = 4403


@database_sync_to_async
def stream_allowed(scope, permission: str) -> bool:
    """Whether the socket's user may open this stream; a refusal is recorded like any other denial."""
    user = scope["user"]
    if user.has_perm(permission):
        return True
    client = scope.get("client") or ("", 0)
    audit_record(
        action="access.denied",
        actor=user,
        object_type="websocket",
        object_id=scope.get("path", "")[:64],
        payload={"path": scope.get("path", ""), "needs": permission},
        client_ip=client[0] or "",
        request_id="",
    )
    return False


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """A frame that is not JSON text (a binary frame, or text that does not parse) closes the socket
    with 4400 and a reason; the JSON consumer would fail on it, and the client would see only 1011."""

    async def accept(self, *args, **kwargs):
        await super().accept(*args, **kwargs)
        metrics.websocket_clients.inc()
        self.counted = True

    async def websocket_disconnect(self, message):
        if getattr(self, "counted", False):
            metrics.websocket_clients.dec()
            self.counted = False
        await super().websocket_disconnect(message)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        if text_data is None:
            await self.malformed("send JSON text frames, not binary ones")
            return
        try:
            content = await self.decode_json(text_data)
        except (ValueError, RecursionError):  # not JSON; nested too deep to parse
            await self.malformed("a frame is not JSON")
            return
        await self.receive_json(content, **kwargs)

    async def malformed(self, reason: str) -> None:
        await self.send_json({"type": "error", "message": reason})
        await self.close(code=MALFORMED, reason=reason)


class MarketConsumer(JsonConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        if not await stream_allowed(self.scope, "trading.view_instrument"):
            await self.close(code=FORBIDDEN)
            return
        self.subscribed: set[int] = set()
        self.pending: dict[int, dict] = {}
        self.last_sent = 0.0
        self.flush_task = None
        await self.accept()

    async def disconnect(self, code):
        if getattr(self, "subscribed", None):
            await market_hub().unsubscribe(self, self.subscribed)
        if getattr(self, "flush_task", None):
            self.flush_task.cancel()

    async def receive_json(self, content, **kwargs):
        action = content.get("action") if isinstance(content, dict) else None
        tokens = content.get("instruments") if isinstance(content, dict) else None
        if action not in ("subscribe", "unsubscribe") or not isinstance(tokens, list):
            await self.send_json(
                {"type": "error", "message": "send {action: subscribe|unsubscribe, instruments: [tokens]}"}
            )
            return
        if not all(isinstance(token, int) and not isinstance(token, bool) for token in tokens):
            await self.send_json({"type": "error", "message": "instruments must be a list of instrument tokens"})
            return
        if action == "unsubscribe":
            leaving = set(tokens) & self.subscribed
            await market_hub().unsubscribe(self, leaving)
            for token in leaving:
                self.subscribed.discard(token)
                self.pending.pop(token, None)
            await self.send_json({"type": "unsubscribed", "instruments": sorted(set(tokens))})
            return
        if len(self.subscribed | set(tokens)) > settings.MARKET_WS_MAX_SUBSCRIPTIONS:
            await self.send_json(
                {
                    "type": "error",
                    "message": f"at most {settings.MARKET_WS_MAX_SUBSCRIPTIONS} instruments per connection",
                }
            )
            return
        quotes, unknown = await self.quotes(tokens)
        joining = set(quotes) - self.subscribed
        await market_hub().subscribe(self, joining)
        self.subscribed |= joining
        await self.send_json(
            {
                "type": "subscribed",
                "instruments": sorted(quotes),
                "unknown": unknown,
                "quotes": [{"i": token, "p": price} for token, price in quotes.items() if price is not None],
            }
        )

    @database_sync_to_async
    def quotes(self, tokens):
        """{token: latest price or None} for the known tokens, and the unknown ones."""
        quotes = {q["instrument_token"]: q["last_price"] for q in quotes_latest(tokens, market=False)}
        quotes = {token: str(price) if price is not None else None for token, price in quotes.items()}
        return quotes, sorted(set(tokens) - set(quotes))

    def tick_received(self, event):
        """Called by the hub for each tick of an instrument this socket subscribed to."""
        token = event["i"]
        if token not in self.subscribed:
            return  # a tick already in flight when the client unsubscribed
        self.pending[token] = {"i": token, "p": event["p"], "v": event["v"], "t": event["t"]}
        if "q" in event:  # the feed's quote: day totals, OHLC, depth
            self.pending[token]["q"] = event["q"]
        if self.flush_task is None:
            wait = self.last_sent + settings.MARKET_WS_MIN_INTERVAL_MS / 1000 - time.monotonic()
            # Ticks of one feed batch arrive back to back: a zero wait still lets them share a frame.
            self.flush_task = asyncio.get_running_loop().call_later(max(wait, 0), self.flush_later)

    def flush_later(self):
        self.flush_task = None
        asyncio.ensure_future(self.flush())

    async def flush(self):
        if not self.pending:
            return
        ticks, self.pending = list(self.pending.values()), {}
        self.last_sent = time.monotonic()
        await self.send_json({"type": "ticks", "ticks": ticks})


class AccountConsumer(JsonConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        if not await stream_allowed(self.scope, "trading.view_order"):
            await self.close(code=FORBIDDEN)
            return
        # The group is the connected user's own; nothing a client sends can name another.
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.get_username()})

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        await self.send_json({"type": "error", "message": "this stream takes no messages"})

    async def account_event(self, event):
        await self.send_json({"type": event["kind"], "data": event["data"]})
