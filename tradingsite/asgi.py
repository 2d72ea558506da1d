import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")

# Django is set up before anything imports models (consumers, routing).
django_wsgi_app = get_wsgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from whitenoise import WhiteNoise  # noqa: E402

from trading.realtime.routing import websocket_urlpatterns  # noqa: E402
from tradingsite.metrics_export import observability_start  # noqa: E402
from tradingsite.wsgi_bridge import WsgiBridge  # noqa: E402

observability_start("tradingsite-web")  # METRICS_PORT, apart from the public port; traces when configured

# HTTP: WhiteNoise serves /static/ ahead of Django; everything else runs through Django's WSGI handler
# on a pool thread (see wsgi_bridge for why not Django's ASGI handler).
http_application = WsgiBridge(
    WhiteNoise(
        django_wsgi_app,
        root=settings.STATIC_ROOT,
        prefix=settings.STATIC_URL,
        max_age=settings.STATIC_MAX_AGE_SECONDS,
    ),
    threads=settings.HTTP_THREADS,
)

application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
