from django.core.management.base import BaseCommand, CommandError

from audit.chain import chain_verify
from audit.checkpoints import checkpoints_verify
from audit.sequencer import audit_backlog, seal_mismatches_recorded, unlinked_seal_problems


class Command(BaseCommand):
    help = (
        "Verify the audit trail: the hash chain from its first row, the signed checkpoints of its head "
        "(which catch the newest rows being deleted), the seals of rows altered before they were linked, "
        "and rows left unlinked past AUDIT_LINK_MAX_SECONDS. Names each problem and exits 1 if there is any."
    )

    def handle(self, **options):
        report = chain_verify()
        problems = []
        if not report.ok:
            problems.append(
                f"audit chain broken at sequence {report.broken_sequence} (row id {report.broken_id}): "
                f"{report.problem}. {report.rows_checked} rows before it verified."
            )
        checkpoints = checkpoints_verify()
        problems.extend(checkpoints.problems)
        problems.extend(seal_mismatches_recorded())
        problems.extend(unlinked_seal_problems())
        backlog = audit_backlog()
        if not backlog.ok:
            problems.append(backlog.describe())
        if problems:
            raise CommandError("\n".join(problems))
        if report.head_sequence is None:
            self.stdout.write("audit chain is empty: nothing to verify")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"audit chain intact: {report.rows_checked} rows, head sequence {report.head_sequence}, "
                f"head hash {report.head_hash}; {checkpoints.checked} signed checkpoints match; "
                f"{backlog.describe()}"
            )
        )
