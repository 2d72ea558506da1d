from django.urls import path

from trading.realtime import consumers

websocket_urlpatterns = [
    path("ws/market/", consumers.MarketConsumer.as_asgi()),
    path("ws/account/", consumers.AccountConsumer.as_asgi()),
]
