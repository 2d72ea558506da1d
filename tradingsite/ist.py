"""India Standard Time: times are stored in UTC and trading days are counted in IST."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.utils import timezone

IST = ZoneInfo("Asia/Kolkata")


def ist_day_start(at: datetime | None = None) -> datetime:
    """Midnight IST of the trading day `at` (default now) falls in."""
    local = (at or timezone.now()).astimezone(IST)
    return datetime.combine(local.date(), time.min, tzinfo=IST)
