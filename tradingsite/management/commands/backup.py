import json

from django.core.management.base import BaseCommand, CommandError

from tradingsite.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Back up the PostgreSQL database: a consistent dump of one snapshot and a manifest (the audit chain's "
        "head, row counts, the accepted orders, the dump's SHA-256) read from the same snapshot, into a new "
        "folder under --to (a folder, or s3://bucket/prefix). Prints the manifest as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--to", dest="folder", required=True, help="the folder backups are kept in, or s3://bucket/prefix"
        )

    def handle(self, folder, **options):
        from tradingsite.backup import backup_take

        try:
            taken = backup_take(folder)
        except (ApplicationError, OSError) as exc:
            raise CommandError(getattr(exc, "message", str(exc))) from None
        self.stdout.write(json.dumps(taken, indent=2))
