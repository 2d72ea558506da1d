import json

from django.core.management.base import BaseCommand, CommandError

from tradingsite.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Restore a backup (a folder `backup` made) into a new database on the same server and check it: no "
        "migration missing, the audit chain verified, every row of the manifest there. Prints JSON with the "
        "time it took, what the restore lacks against the manifest, and what the live database has gained "
        "since the backup (what a restore now would lose); exits 1 if the drill failed. The drill's "
        "database is dropped afterwards unless --keep."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="backup", required=True, help="the backup's folder or its s3:// location")
        parser.add_argument("--keep", action="store_true", help="keep the restored database")

    def handle(self, backup, keep, **options):
        from tradingsite.backup import drill_summary, restore_drill

        try:
            drill = restore_drill(backup, keep=keep)
        except (ApplicationError, OSError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        self.stdout.write(json.dumps(drill_summary(drill), indent=2))
        if not drill.ok:
            raise CommandError("the restore drill failed: " + "; ".join(drill.problems or ["see the report above"]))
