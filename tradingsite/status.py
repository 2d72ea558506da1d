"""What the ops status page shows, read when it is asked for: the feed's freshness, the Celery workers
that answer, beat's jobs and when each last ran, the outbox, the Kite sessions, the latest backup."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max
from django.utils import timezone

PING_SECONDS = 1.0
UNIT_SECONDS = {"microseconds": 1e-6, "seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


@dataclass
class Job:
    name: str
    task: str
    every: str
    last_run_at: datetime | None
    late: bool  # not run for more than twice its interval (or since a day, for the daily ones)


def feed_freshness() -> dict:
    from trading.models import Instrument

    newest = Instrument.objects.aggregate(at=Max("last_price_at"))["at"]
    return {"newest_price_at": newest, "lag_seconds": (timezone.now() - newest).total_seconds() if newest else None}


def workers_answering() -> list[str]:
    """The Celery workers that answer a ping within a second (their names), or [] when none does."""
    from tradingsite.celery import app

    try:
        replies = app.control.ping(timeout=PING_SECONDS) or []
    except Exception:  # the broker is away: the dependency checks above say so
        return []
    return sorted(name for reply in replies for name in reply)


def beat_jobs(now: datetime | None = None) -> list[Job]:
    from django_celery_beat.models import PeriodicTask

    now = now or timezone.now()
    jobs = []
    for task in PeriodicTask.objects.select_related("interval", "crontab").filter(enabled=True).order_by("name"):
        if task.interval is not None:
            period = timedelta(seconds=task.interval.every * UNIT_SECONDS[task.interval.period])
            every = f"every {task.interval.every} {task.interval.period}"
        else:
            period = timedelta(days=1)
            every = f"at {task.crontab.hour}:{task.crontab.minute:0>2} {task.crontab.timezone} (cron)"
        late = task.last_run_at is None or now - task.last_run_at > 2 * period + timedelta(minutes=1)
        jobs.append(Job(task.name, task.task, every, task.last_run_at, late))
    return jobs


def outbox_state() -> dict:
    from trading.metrics import outbox_backlog

    depth, oldest = outbox_backlog()
    return {
        "depth": depth,
        "oldest_at": oldest,
        "oldest_seconds": (timezone.now() - oldest).total_seconds() if oldest else None,
    }


def kite_sessions() -> list[dict]:
    from trading.models import KiteLink

    now = timezone.now()
    rows = []
    for link in KiteLink.objects.select_related("account").order_by("account__name"):
        report = link.reconcile_report or {}
        rows.append(
            {
                "account": link.account.name,
                "logged_in_at": link.logged_in_at,
                "expires_at": link.expires_at,
                "expired": link.expires_at is None or link.expires_at <= now,
                "reconciled_at": link.reconciled_at,
                "differences": len(report.get("problems") or []),
            }
        )
    return rows


def latest_backup():
    from tradingsite.models import BackupRecord

    return BackupRecord.objects.order_by("-taken_at").first()
