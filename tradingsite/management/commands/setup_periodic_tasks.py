import json
from datetime import timedelta

from django.core.management.base import BaseCommand
from django_celery_beat.models import IntervalSchedule, PeriodicTask

# name -> (task, every N seconds). Each run expires before the next one is due, so a stalled worker
# never works through a backlog of stale runs.
PERIODIC_TASKS = {
    "audit-chain-verify": ("audit.tasks.audit_chain_verify", 3600),
}


class Command(BaseCommand):
    help = "Create or update the beat schedule in the database (idempotent)."

    def handle(self, **options):
        for name, (task, seconds) in PERIODIC_TASKS.items():
            interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
            _, created = PeriodicTask.objects.update_or_create(
                name=name,
                defaults={
                    "task": task,
                    "interval": interval,
                    "crontab": None,
                    "expire_seconds": int(timedelta(seconds=seconds).total_seconds() * 0.9),
                    "kwargs": json.dumps({}),
                    "enabled": True,
                },
            )
            self.stdout.write(f"{'created' if created else 'updated'} periodic task {name} ({task} every {seconds}s)")
