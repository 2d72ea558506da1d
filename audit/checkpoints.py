"""Signed checkpoints of the chain's head, and checking the trail against them."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.hashing import canonical_timestamp, signature, signature_valid
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import CHAIN_LOCK_KEY
from audit.signing import signing_key


@transaction.atomic
def checkpoint_write() -> AuditCheckpoint | None:
    """Sign the chain's current head; None when the trail is empty or the head is already checkpointed."""
    with connection.cursor() as cursor:  # the head cannot move while it is read and signed
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    head = AuditEvent.objects.filter(sequence__isnull=False).order_by("-sequence").values("sequence", "hash").first()
    if head is None:
        return None
    latest = AuditCheckpoint.objects.order_by("-sequence", "-created_at").first()
    if latest is not None and latest.sequence == head["sequence"]:
        return None
    created_at = timezone.now()
    document = {"created_at": canonical_timestamp(created_at), "sequence": head["sequence"], "hash": head["hash"]}
    return AuditCheckpoint.objects.create(
        created_at=created_at,
        sequence=head["sequence"],
        hash=head["hash"],
        signature=signature(signing_key(), document),
    )


@dataclass(frozen=True)
class CheckpointReport:
    checked: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def checkpoints_verify(*, stale_after: timedelta | None = None) -> CheckpointReport:
    """Every checkpoint must be validly signed and name a row that still exists with the recorded hash;
    the newest must not be older than twice the schedule (else checkpoints were removed or not written)."""
    key = signing_key()
    problems = []
    checkpoints = list(AuditCheckpoint.objects.order_by("sequence", "created_at"))
    sequences = {checkpoint.sequence for checkpoint in checkpoints}
    hashes = dict(AuditEvent.objects.filter(sequence__in=sequences).values_list("sequence", "hash"))
    linked = AuditEvent.objects.filter(sequence__isnull=False)
    head = linked.order_by("-sequence").values_list("sequence", flat=True).first() or 0
    oldest = linked.order_by("sequence").values_list("sequence", flat=True).first() or 0
    for checkpoint in checkpoints:
        if not signature_valid(key, checkpoint.document()):
            problems.append(f"checkpoint {checkpoint.pk} (sequence {checkpoint.sequence}) has an invalid signature")
        elif checkpoint.sequence < oldest:
            continue  # its row was removed by retention, which the chain's purge record accounts for
        elif checkpoint.sequence > head:
            problems.append(
                f"checkpoint of {checkpoint.created_at:%Y-%m-%d %H:%M:%S} UTC records sequence {checkpoint.sequence} "
                f"with hash {checkpoint.hash}, but the trail now ends at sequence {head}: "
                f"{checkpoint.sequence - head} newest rows were deleted"
            )
        elif hashes.get(checkpoint.sequence) != checkpoint.hash:
            problems.append(
                f"checkpoint {checkpoint.pk} records hash {checkpoint.hash} at sequence {checkpoint.sequence}, "
                f"but that row now has {hashes.get(checkpoint.sequence)}: rows were replaced"
            )
    # Rows the schedule should have checkpointed by now but no checkpoint covers: checkpoints removed
    # (to hide deleted rows behind them), or the schedule stopped.
    stale_after = stale_after or timedelta(minutes=2 * settings.AUDIT_CHECKPOINT_MINUTES)
    newest_sequence = max(sequences, default=0)
    uncovered = AuditEvent.objects.filter(sequence__gt=newest_sequence).order_by("sequence").first()
    # Measured from when the row was linked: rows that waited for the sequencer were not yet due.
    if uncovered is not None and timezone.now() - (uncovered.linked_at or uncovered.created_at) > stale_after:
        problems.append(
            f"rows from sequence {uncovered.sequence} (written {uncovered.created_at:%Y-%m-%d %H:%M:%S} UTC) are "
            f"covered by no checkpoint although checkpoints are due every {settings.AUDIT_CHECKPOINT_MINUTES} min: "
            "checkpoints were removed or the schedule is not running"
        )
    return CheckpointReport(checked=len(checkpoints), problems=problems)
