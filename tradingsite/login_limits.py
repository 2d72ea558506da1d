"""At most LOGIN_FAILURES_PER_HOUR failed password sign-ins per account per hour, counted in Redis.

Past the limit the account's password sign-in is refused, right password or not, until the hour's
window ends: guessing is bounded however many addresses an attacker uses.
"""

import hashlib
import time

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver

from tradingsite.counters import counts_increment

WINDOW_SECONDS = 3600


def failures_key(username: str) -> str:
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-failures:{digest}:{int(time.time() // WINDOW_SECONDS)}"


def login_failures(username: str) -> int:
    try:
        return int(cache.get(failures_key(username)) or 0)
    except Exception:  # Redis down: the count is unknown; password checks still apply
        return 0


def login_locked(username: str) -> bool:
    return bool(username) and login_failures(username) >= settings.LOGIN_FAILURES_PER_HOUR


LOCKED_MESSAGE = "Too many failed sign-ins for this account in the last hour. Try again later."


@receiver(user_login_failed, dispatch_uid="tradingsite.login_failure_count")
def login_failure_counted(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))
    if not username:
        return
    try:
        counts_increment([(failures_key(username), WINDOW_SECONDS * 2)])
    except Exception:  # noqa: S110 - without Redis the limit cannot count; the failure is still audited
        pass
