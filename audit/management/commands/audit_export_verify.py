from django.core.management.base import BaseCommand, CommandError

from audit.export_verify import export_verify
from audit.signing import signing_key


class Command(BaseCommand):
    help = (
        "Check an audit export (.zip) with this site's signing key. Without the site, run "
        "`python audit/export_verify.py EXPORT.zip --key-file KEY` (standard library only)."
    )

    def add_arguments(self, parser):
        parser.add_argument("export")

    def handle(self, export, **options):
        report = export_verify(export, signing_key())
        if not report.ok:
            raise CommandError("\n".join(report.problems))
        self.stdout.write(self.style.SUCCESS(f"export intact: {report.rows} rows; manifest signed and matching"))
