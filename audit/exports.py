"""Audit trail exports: the rows a filter selects, as CSV or JSON Lines, zipped with a signed manifest.

The manifest names the row count, the first and last sequence and hash and the data file's SHA-256,
and is signed with HMAC-SHA256 (audit.signing); `python -m audit.export_verify` checks it all offline.
Every export is itself recorded in the trail, with the manifest's figures.
"""

import csv
import hashlib
import io
import json
import tempfile
import zipfile
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from audit.hashing import HASHED_FIELDS, canonical_json, canonical_timestamp, signature
from audit.models import AuditEvent
from audit.services import audit_record
from audit.signing import key_id, signing_key

FORMATS = ("csv", "jsonl")
COLUMNS = (*HASHED_FIELDS, "prev_hash", "hash")


class ExportFormatError(ValueError):
    pass


@dataclass(frozen=True)
class Export:
    file: tempfile.SpooledTemporaryFile
    filename: str
    manifest: dict


def export_row(row: dict) -> dict:
    out = {name: row[name] for name in COLUMNS}
    out["created_at"] = canonical_timestamp(row["created_at"])
    return out


def audit_export(*, events: QuerySet[AuditEvent], export_format: str, actor, filters: dict) -> Export:
    if export_format not in FORMATS:
        raise ExportFormatError(f"export format must be one of {', '.join(FORMATS)}, not {export_format!r}")
    data_name = f"audit-events.{export_format}"
    data = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    text = io.TextIOWrapper(data, encoding="utf-8", newline="")
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n") if export_format == "csv" else None
    if writer:
        writer.writeheader()
    count, first, last = 0, None, None
    # Linked rows only: an export is checked along the chain; rows waiting for the sequencer have no place yet.
    linked = events.filter(sequence__isnull=False).order_by("sequence")
    for row in linked.values(*COLUMNS).iterator(chunk_size=2000):
        record = export_row(row)
        if writer:
            writer.writerow(
                {
                    **record,
                    "actor_id": "" if record["actor_id"] is None else record["actor_id"],
                    "payload": canonical_json(record["payload"]),
                }
            )
        else:
            text.write(canonical_json(record) + "\n")
        count += 1
        first = first or record
        last = record
    text.flush()
    data_bytes_sha = hashlib.sha256()
    data.seek(0)
    for chunk in iter(lambda: data.read(1 << 20), b""):
        data_bytes_sha.update(chunk)
    now = timezone.now()
    manifest = {
        "format": export_format,
        "file": data_name,
        "file_sha256": data_bytes_sha.hexdigest(),
        "row_count": count,
        "first_sequence": first and first["sequence"],
        "first_hash": first and first["hash"],
        "last_sequence": last and last["sequence"],
        "last_hash": last and last["hash"],
        "filters": {name: str(value) for name, value in filters.items()},
        # Unfiltered: every row from the first to the last sequence is in the file, so a gap is a removal.
        "contiguous": not filters,
        "hash_fields": list(HASHED_FIELDS),
        "created_at": canonical_timestamp(now),
        "created_by": actor.get_username() if hasattr(actor, "get_username") else str(actor),
        "key_id": key_id(),
    }
    manifest["signature"] = signature(signing_key(), manifest)
    archive = tempfile.SpooledTemporaryFile(max_size=32 * 1024 * 1024)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        data.seek(0)
        with zipped.open(data_name, "w") as target:
            for chunk in iter(lambda: data.read(1 << 20), b""):
                target.write(chunk)
        zipped.writestr("manifest.json", json.dumps(manifest, indent=2, sort_keys=True))
    text.detach()
    data.close()
    archive.seek(0)
    audit_record(
        action="audit.export",
        actor=actor,
        object_type="audit_export",
        payload={
            name: manifest[name]
            for name in ("format", "row_count", "first_sequence", "last_sequence", "file_sha256", "filters")
        },
    )
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    return Export(file=archive, filename=f"audit-export-{stamp}-{export_format}.zip", manifest=manifest)
