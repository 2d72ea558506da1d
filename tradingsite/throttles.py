"""API rate limits counted in Redis, so every web process shares one count: per token and per user.

A fixed one-minute window per key (INCR with an expiry), both counts in one pipelined round trip:
cheap, atomic, and exact about the limit within a window. Without Redis the call is let through (the
site keeps serving) and logged.
"""

import logging
import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from tradingsite.counters import counts_increment
from tradingsite.models import ApiToken

logger = logging.getLogger(__name__)
WINDOW_SECONDS = 60


class ApiThrottle(BaseThrottle):
    def allow_request(self, request, view):
        limits = []
        if isinstance(request.auth, ApiToken):
            limits.append((f"token:{request.auth.pk}", settings.API_THROTTLE_TOKEN_PER_MINUTE))
        if request.user and request.user.is_authenticated:
            limits.append((f"user:{request.user.pk}", settings.API_THROTTLE_USER_PER_MINUTE))
        if not limits:
            return True
        window = int(time.time() // WINDOW_SECONDS)
        try:
            counts = counts_increment([(f"throttle:{name}:{window}", WINDOW_SECONDS * 2) for name, _ in limits])
        except Exception:
            logger.warning("rate limit not applied: Redis unreachable", exc_info=True)
            return True
        self.retry_after = (window + 1) * WINDOW_SECONDS - time.time()
        return all(count <= limit for count, (_, limit) in zip(counts, limits, strict=True))

    def wait(self):
        return max(1, round(getattr(self, "retry_after", WINDOW_SECONDS)))
