import json

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

IST = "Asia/Kolkata"
WEEKDAYS = "1-5"

# name -> (task, schedule, expire_seconds). A schedule is ("every", seconds) or ("at", "HH:MM" IST on
# trading weekdays). Each run expires before the next is due, so a stalled worker never works through
# a backlog of stale runs.
PERIODIC_TASKS = {
    "audit-chain-verify": ("audit.tasks.audit_chain_verify", ("every", 3600), 3000),
    "audit-checkpoint": (
        "audit.tasks.audit_checkpoint_write",
        ("every", settings.AUDIT_CHECKPOINT_MINUTES * 60),
        settings.AUDIT_CHECKPOINT_MINUTES * 60 - 5,
    ),
    "audit-retention": ("audit.tasks.retention_apply", ("every", 86400), 3600),
    "audit-link": ("audit.tasks.audit_link", ("every", 60), 55),
    "outbox-retention": ("trading.tasks.outbox_retention", ("every", 86400), 3600),
    "kite-reconcile": ("trading.tasks.kite_reconcile", ("every", 60), 55),
    "outbox-sweep": ("trading.tasks.outbox_sweep", ("every", 10), 9),
    "idempotency-keys-purge": ("trading.tasks.idempotency_keys_purge", ("every", 3600), 3000),
    "paper-mis-squareoff": ("trading.tasks.paper_mis_squareoff", ("at", "15:20"), 600),
    "paper-session-close": ("trading.tasks.paper_session_close", ("at", "15:30"), 600),
    "pnl-daily": ("portfolio.tasks.pnl_daily", ("at", "15:45"), 3600),
    "bars-rollup": ("trading.tasks.bars_rollup_recent", ("every", 60), 55),
    "bars-partitions-retention": ("trading.tasks.bars_maintain", ("every", 86400), 3600),
    "news-fetch": ("sentiment.tasks.news_fetch", ("every", 300), 290),
    "news-score-models": ("sentiment.tasks.news_score_models", ("every", 300), 290),
    "sentiment-aggregate": ("sentiment.tasks.sentiment_aggregate", ("every", 300), 290),
    "rl-resume": ("rl.tasks.rl_resume", ("every", 300), 290),
    "rl-retrain": ("rl.tasks.rl_retrain", ("every", settings.RL_RETRAIN_SECONDS), 3600),
}


class Command(BaseCommand):
    help = "Create or update the beat schedule in the database (idempotent)."

    @transaction.atomic
    def handle(self, **options):
        for name, (task, (kind, when), expire_seconds) in PERIODIC_TASKS.items():
            schedule = {"interval": None, "crontab": None}
            if kind == "every":
                schedule["interval"], _ = IntervalSchedule.objects.get_or_create(
                    every=when, period=IntervalSchedule.SECONDS
                )
                described = f"every {when}s"
            else:
                hour, minute = when.split(":")
                schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
                    minute=str(int(minute)),
                    hour=str(int(hour)),
                    day_of_week=WEEKDAYS,
                    day_of_month="*",
                    month_of_year="*",
                    timezone=IST,
                )
                described = f"at {when} IST on weekdays"
            _, created = PeriodicTask.objects.update_or_create(
                name=name,
                defaults={
                    "task": task,
                    **schedule,
                    "expire_seconds": expire_seconds,
                    "kwargs": json.dumps({}),
                    "enabled": True,
                },
            )
            self.stdout.write(f"{'created' if created else 'updated'} periodic task {name} ({task} {described})")
