"""The hash chain: how a row's hash is computed, and how the whole chain is checked."""

from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from audit.hashing import GENESIS_HASH, HASHED_FIELDS, event_hash, event_seal
from audit.models import AuditEvent
from audit.signing import signing_key

# The outcome of the last scheduled verification, for the system status page.
LAST_VERIFY_CACHE_KEY = "audit:last-verify"


@dataclass(frozen=True)
class ChainReport:
    rows_checked: int
    head_sequence: int | None
    head_hash: str
    broken_sequence: int | None = None
    broken_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_sequence is None


def purge_anchor_matches(first_row: dict) -> bool:
    """A retention purge recorded (in the chain itself) that it removed every row before this one."""
    return AuditEvent.objects.filter(
        sequence__isnull=False,  # on the chain itself, where the walk checks its seal and hash
        action="audit.retention_purge",
        payload__through_sequence=first_row["sequence"] - 1,
        payload__through_hash=first_row["prev_hash"],
    ).exists()


def chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole chain (the linked rows) in order and report the first row that does not follow
    from the one before, or whose content does not match its seal. Rows not linked yet are the
    sequencer's (audit.sequencer.audit_backlog).

    Every row linked by the sequencer (`linked_at` set; rows linked before seals existed have none)
    must match its seal: the hash needs no key, so a row written and linked by someone holding only
    the database's credentials would otherwise chain perfectly well."""
    key = signing_key()
    expected_sequence = 1
    prev_hash = GENESIS_HASH
    checked = 0
    linked = AuditEvent.objects.filter(sequence__isnull=False)
    rows = linked.order_by("sequence").values("id", "prev_hash", "hash", "seal", "linked_at", *HASHED_FIELDS)
    for row in rows.iterator(chunk_size=chunk_size):
        problem = ""
        if checked == 0 and row["sequence"] > 1 and purge_anchor_matches(row):
            # The oldest rows left by retention: the chain resumes from the purge's recorded anchor.
            expected_sequence, prev_hash = row["sequence"], row["prev_hash"]
        if row["sequence"] != expected_sequence:
            problem = f"sequence {expected_sequence} is missing: the next row found is {row['sequence']} (rows deleted)"
        elif row["prev_hash"] != prev_hash:
            problem = "prev_hash does not match the previous row's hash (row inserted, removed or reordered)"
        elif row["hash"] != event_hash(prev_hash=prev_hash, content=row):
            problem = "hash does not match the row's content (row altered)"
        elif row["linked_at"] is not None and row["seal"] != event_seal(key, row):
            problem = "the row does not match its seal: altered before it was linked, or written without the audit key"
        if problem:
            return ChainReport(
                rows_checked=checked,
                head_sequence=expected_sequence - 1 or None,
                head_hash=prev_hash,
                broken_sequence=row["sequence"],
                broken_id=row["id"],
                problem=problem,
            )
        checked += 1
        expected_sequence += 1
        prev_hash = row["hash"]
    return ChainReport(rows_checked=checked, head_sequence=expected_sequence - 1 or None, head_hash=prev_hash)


def chain_verify_recorded() -> ChainReport:
    """Verify the whole chain and keep the outcome for the system status page (`chain_verify_last`)."""
    report = chain_verify()
    outcome = {
        "at": timezone.now().isoformat(),
        "ok": report.ok,
        "rows": report.rows_checked,
        "broken_sequence": report.broken_sequence,
        "problem": report.problem,
    }
    cache.set(LAST_VERIFY_CACHE_KEY, outcome, timeout=None)
    return report


def chain_verify_last() -> dict | None:
    return cache.get(LAST_VERIFY_CACHE_KEY)
