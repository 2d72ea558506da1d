"""The hash chain: how a row's hash is computed, and how the whole chain is checked."""

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from .models import GENESIS_HASH, AuditEvent

# The fields a row's hash covers, besides the previous row's hash. Adding one is a format change:
# rows already written keep verifying only if the new field is left out of their serialisation.
HASHED_FIELDS = (
    "sequence",
    "created_at",
    "actor_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "request_id",
    "client_ip",
    "payload",
)


def canonical_timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_content(content: dict) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the same content always serialises to the same bytes."""
    values = {name: content[name] for name in HASHED_FIELDS}
    values["created_at"] = canonical_timestamp(values["created_at"])
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event_hash(*, prev_hash: str, content: dict) -> str:
    return hashlib.sha256((prev_hash + canonical_content(content)).encode()).hexdigest()


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


def chain_verify(*, chunk_size: int = 2000) -> ChainReport:
    """Walk the whole chain in order and report the first row that does not follow from the one before."""
    expected_sequence = 1
    prev_hash = GENESIS_HASH
    checked = 0
    rows = AuditEvent.objects.order_by("sequence").values("id", "prev_hash", "hash", *HASHED_FIELDS)
    for row in rows.iterator(chunk_size=chunk_size):
        problem = ""
        if row["sequence"] != expected_sequence:
            problem = f"sequence {expected_sequence} is missing: the next row found is {row['sequence']} (rows deleted)"
        elif row["prev_hash"] != prev_hash:
            problem = "prev_hash does not match the previous row's hash (row inserted, removed or reordered)"
        elif row["hash"] != event_hash(prev_hash=prev_hash, content=row):
            problem = "hash does not match the row's content (row altered)"
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
