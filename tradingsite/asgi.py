import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")

# Django is set up before anything imports models (consumers, routing).
django_asgi_app = get_asgi_application()

from asgiref.wsgi import WsgiToAsgi  # noqa: E402
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402
from whitenoise import WhiteNoise  # noqa: E402

from trading.routing import websocket_urlpatterns  # noqa: E402


def static_not_found(environ, start_response):
    start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
    return [b"no such static file\n"]


# WhiteNoise serves /static/ before Django sees the request. As Django middleware it would be the one
# sync-only layer, and would push every request's middleware chain onto a worker thread.
STATIC_PREFIX = "/" + settings.STATIC_URL.strip("/") + "/"
static_files = WsgiToAsgi(
    WhiteNoise(
        static_not_found, root=settings.STATIC_ROOT, prefix=STATIC_PREFIX, max_age=settings.STATIC_MAX_AGE_SECONDS
    )
)


async def http_application(scope, receive, send):
    if scope["path"].startswith(STATIC_PREFIX):
        return await static_files(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
