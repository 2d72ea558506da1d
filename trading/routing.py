# Websocket routes (market data, account streams) are added here as their consumers are built.
websocket_urlpatterns: list = []
