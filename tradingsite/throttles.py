"""API rate limits counted in Redis, so every web process shares one count: per token and per user.

A fixed one-minute window per key (INCR with an expiry): cheap, atomic, and exact about the limit
within a window. Without Redis the call is let through (the site keeps serving) and logged.
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from .models import ApiToken

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


class MinuteWindowThrottle(BaseThrottle):
    scope = ""

    def identity(self, request) -> str | None:
        raise NotImplementedError

    def limit(self) -> int:
        raise NotImplementedError

    def allow_request(self, request, view):
        identity = self.identity(request)
        if identity is None:
            return True
        window = int(time.time() // WINDOW_SECONDS)
        key = f"throttle:{self.scope}:{identity}:{window}"
        try:
            cache.add(key, 0, WINDOW_SECONDS * 2)
            count = cache.incr(key)
        except Exception:
            logger.warning("rate limit not applied: Redis unreachable", exc_info=True)
            return True
        self.retry_after = (window + 1) * WINDOW_SECONDS - time.time()
        return count <= self.limit()

    def wait(self):
        return max(1, round(getattr(self, "retry_after", WINDOW_SECONDS)))


class PerTokenThrottle(MinuteWindowThrottle):
    scope = "token"

    def identity(self, request):
        return request.auth.pk if isinstance(request.auth, ApiToken) else None

    def limit(self):
        return settings.API_THROTTLE_TOKEN_PER_MINUTE


class PerUserThrottle(MinuteWindowThrottle):
    scope = "user"

    def identity(self, request):
        return request.user.pk if request.user and request.user.is_authenticated else None

    def limit(self):
        return settings.API_THROTTLE_USER_PER_MINUTE
