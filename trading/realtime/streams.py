"""Live updates to a user's open pages: the websocket group `user.<id>` (see consumers.AccountConsumer).

Events are sent after the transaction that made the change commits, so a page never shows what was
rolled back. Delivery is best effort: a page that was disconnected re-reads its state through the API
when it reconnects, so a lost event costs nothing but a moment's staleness.
"""

import functools
import json

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from tradingsite.redis_cache import CircuitRedis


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def account_event(owner_id: int, kind: str, data: dict) -> None:
    payload = json.loads(json.dumps(data, cls=DjangoJSONEncoder))
    message = {"type": "account.event", "kind": kind, "data": payload}
    transaction.on_commit(lambda: _send(user_group(owner_id), message), robust=True)


def pubsub_channel(group: str) -> str:
    """The Redis pub/sub channel a group's messages travel on with the pub/sub channel layer (the only
    layer the platform runs on; see tradingsite/checks.py)."""
    prefix = settings.CHANNEL_LAYERS["default"].get("CONFIG", {}).get("prefix", "asgi")
    return f"{prefix}__group__{group}"


def _send(group: str, message: dict) -> None:
    """Publish from sync code (a request thread, a worker). `async_to_sync(group_send)` would start an
    event loop, and with it a new Redis connection, for every event: ~5.5 ms each on an order's path.
    On the pub/sub layer a group send is one PUBLISH of the layer's serialised message on the group's
    channel, which a pooled sync client does directly."""
    layer = get_channel_layer()
    if layer is None:
        return
    _redis(settings.REDIS_URL).publish(pubsub_channel(group), layer.serialize(message))


@functools.cache
def _redis(url: str) -> redis.Redis:
    # Bounded waits: a Redis that stops answering (frozen, or a network that drops packets) must not hold
    # the request thread that placed an order; the event is lost instead, which a page survives.
    # Behind the same circuit as the cache: once Redis has stopped answering, events fail at once.
    timeout = settings.REDIS_TIMEOUT_SECONDS
    return CircuitRedis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)


def order_data(order) -> dict:
    return {
        "id": order.pk,
        "account": order.account_id,
        "exchange": order.exchange,
        "tradingsymbol": order.tradingsymbol,
        "transaction_type": order.transaction_type,
        "order_type": order.order_type,
        "product": order.product,
        "validity": order.validity,
        "quantity": order.quantity,
        "price": order.price,
        "trigger_price": order.trigger_price,
        "status": order.status,
        "status_message": order.status_message,
        "pending_request": order.pending_request,
        "filled_quantity": order.filled_quantity,
        "pending_quantity": order.pending_quantity,
        "average_price": order.average_price,
        "created_at": order.created_at,
        # clients keep the newest of an order's states: an HTTP answer can arrive after a later event
        "updated_at": order.updated_at,
    }


def order_event(order) -> None:
    account_event(order.account.owner_id, "order", order_data(order))


def tick_group(instrument_token: int) -> str:
    return f"ticks.{instrument_token}"
