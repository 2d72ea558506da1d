from django.core.management.base import BaseCommand, CommandError

from audit.chain import chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain from its first row; name the first broken row and exit 1 if any."

    def handle(self, **options):
        report = chain_verify()
        if not report.ok:
            raise CommandError(
                f"audit chain broken at sequence {report.broken_sequence} (row id {report.broken_id}): "
                f"{report.problem}. {report.rows_checked} rows before it verified."
            )
        if report.head_sequence is None:
            self.stdout.write("audit chain is empty: nothing to verify")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"audit chain intact: {report.rows_checked} rows, head sequence {report.head_sequence}, "
                    f"head hash {report.head_hash}"
                )
            )
