"""India Standard Time: times are stored in UTC and trading days are counted in IST."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.utils import timezone

IST = ZoneInfo("Asia/Kolkata")


def ist_day_start(at: datetime | None = None) -> datetime:
    """Midnight IST of the trading day `at` (default now) falls in."""
    local = (at or timezone.now()).astimezone(IST)
    return datetime.combine(local.date(), time.min, tzinfo=IST)


# NSE's equity session in IST (holidays are not known here).
SESSION_OPEN = time(9, 15)
SESSION_CLOSE = time(15, 30)


def session_open(at: datetime) -> bool:
    local = at.astimezone(IST)
    return local.weekday() < 5 and SESSION_OPEN <= local.time() < SESSION_CLOSE
