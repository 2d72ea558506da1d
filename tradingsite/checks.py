"""System checks for settings the code relies on."""

from django.conf import settings
from django.core.checks import Error, register

PUBSUB_LAYER = "channels_redis.pubsub.RedisPubSubChannelLayer"


@register()
def channel_layer_is_redis_pubsub(app_configs, **kwargs):
    """Account events and the market hub publish and subscribe to the pub/sub layer's Redis channels
    directly (trading/realtime/streams.py, trading/realtime/hub.py): another layer would silently carry nothing."""
    layer = settings.CHANNEL_LAYERS.get("default", {})
    hosts = layer.get("CONFIG", {}).get("hosts", [])
    if layer.get("BACKEND") != PUBSUB_LAYER or hosts != [settings.REDIS_URL]:
        return [
            Error(
                "CHANNEL_LAYERS['default'] must be the Redis pub/sub layer on REDIS_URL",
                hint=f"BACKEND {PUBSUB_LAYER!r} with CONFIG hosts [REDIS_URL]",
                id="tradingsite.E001",
            )
        ]
    return []
