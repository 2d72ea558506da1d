"""The sequencer: the one writer of the hash chain.

Events are written unlinked, in the transactions of the changes they record, by any number of
processes at once. The sequencer takes the chain's advisory lock, reads the committed unlinked rows
oldest first, checks each one's seal, and gives each the next sequence, the previous row's hash and its
own hash, in one transaction. A row is linked exactly once (the database lets a row change only from
unlinked to linked), and none is skipped: a transaction that commits after a later-numbered one simply
has its rows linked on the next pass, so the chain's order is the order rows became visible to it.

A row whose seal does not match its content was altered after it was written. It is still linked
(the chain must not stop), and an `audit.seal_mismatch` event naming it is written and linked after
it, so `audit_verify` reports it for as long as the trail exists.

Run it as its own process (`manage.py audit_sequencer`), every AUDIT_LINK_INTERVAL_SECONDS; beat runs
one pass a minute as a backstop (`audit.tasks.audit_link`). Two of them never interleave: each pass
holds the lock.
"""

import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from audit.hashing import GENESIS_HASH, SEALED_FIELDS, event_hash, event_seal
from audit.models import AuditEvent
from audit.services import CHAIN_LOCK_KEY, audit_record
from audit.signing import signing_key
from tradingsite.heartbeat import beat

logger = logging.getLogger(__name__)
SEAL_MISMATCH = "audit.seal_mismatch"
APPLICATION_NAME = "audit-sequencer"

UNLINKED_SQL = f"""
SELECT id, {", ".join(SEALED_FIELDS)}, seal
  FROM {AuditEvent._meta.db_table}
 WHERE sequence IS NULL
 ORDER BY id
 LIMIT %s
"""

LINK_SQL = f"""
UPDATE {AuditEvent._meta.db_table} e
   SET sequence = v.sequence, prev_hash = v.prev_hash, hash = v.hash, linked_at = %s
  FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS v(id, sequence, prev_hash, hash)
 WHERE e.id = v.id AND e.sequence IS NULL
"""


def unlinked_rows(cursor, limit: int) -> list[dict]:
    cursor.execute(UNLINKED_SQL, [limit])
    columns = [column.name for column in cursor.description]
    rows = [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:  # Django hands jsonb back as text on a raw cursor
        if isinstance(row["payload"], str):
            row["payload"] = json.loads(row["payload"])
    return rows


@dataclass(frozen=True)
class LinkPass:
    linked: int
    seal_mismatches: list[int]  # ids of the rows whose seal did not match


def chain_head() -> tuple[int, str]:
    head = (
        AuditEvent.objects.filter(sequence__isnull=False).order_by("-sequence").values_list("sequence", "hash").first()
    )
    return head if head else (0, GENESIS_HASH)


def audit_link(*, batch: int = 5000) -> LinkPass:
    """Link the committed unlinked rows, oldest first, up to `batch` of them; one transaction."""
    key = signing_key()
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('application_name', %s, true)", [APPLICATION_NAME])
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
            rows = unlinked_rows(cursor, batch)
        if not rows:
            return LinkPass(0, [])
        sequence, prev_hash = chain_head()
        ids, sequences, prev_hashes, hashes, mismatched = [], [], [], [], []
        for row in rows:
            sequence += 1
            if row["seal"] != event_seal(key, row):
                mismatched.append(row["id"])
            content = {**row, "sequence": sequence}
            row_hash = event_hash(prev_hash=prev_hash, content=content)
            ids.append(row["id"])
            sequences.append(sequence)
            prev_hashes.append(prev_hash)
            hashes.append(row_hash)
            prev_hash = row_hash
        with connection.cursor() as cursor:
            cursor.execute(LINK_SQL, [timezone.now(), ids, sequences, prev_hashes, hashes])
            if cursor.rowcount != len(ids):  # cannot happen under the lock; never chain past a gap
                raise RuntimeError(f"linked {cursor.rowcount} of {len(ids)} audit rows; the pass is rolled back")
        for row_id in mismatched:
            logger.error("audit row %s does not match its seal: altered before it was linked", row_id)
            # Written unlinked like any event; the next pass links it right after the row it names.
            audit_record(
                action=SEAL_MISMATCH,
                actor="system:audit-sequencer",
                object_type="audit_event",
                object_id=row_id,
                payload={"sequence": sequences[ids.index(row_id)], "problem": "content does not match its seal"},
            )
    return LinkPass(len(ids), mismatched)


def audit_link_all(*, batch: int = 5000) -> int:
    """Link until nothing committed is left unlinked; returns how many rows were linked."""
    total = 0
    while True:
        done = audit_link(batch=batch)
        beat("sequencer")  # alive through a long catch-up, batch by batch
        total += done.linked
        if done.linked < batch and not done.seal_mismatches:
            return total


@dataclass(frozen=True)
class Backlog:
    rows: int
    oldest_at: datetime | None
    overdue: int  # rows unlinked for longer than AUDIT_LINK_MAX_SECONDS

    @property
    def ok(self) -> bool:
        return self.overdue == 0

    def describe(self) -> str:
        if self.ok:
            return f"{self.rows} rows waiting to be linked"
        return (
            f"{self.overdue} audit rows unlinked for longer than {settings.AUDIT_LINK_MAX_SECONDS} s "
            f"(the oldest written {self.oldest_at:%Y-%m-%d %H:%M:%S} UTC): is the sequencer running?"
        )


def audit_backlog(*, now: datetime | None = None) -> Backlog:
    """The rows not linked yet, and how many of them are past the bound."""
    bound = (now or timezone.now()) - timedelta(seconds=settings.AUDIT_LINK_MAX_SECONDS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), min(created_at), count(*) FILTER (WHERE created_at < %s) "
            f"FROM {AuditEvent._meta.db_table} WHERE sequence IS NULL",
            [bound],
        )
        rows, oldest, overdue = cursor.fetchone()
    return Backlog(rows, oldest, overdue)


def unlinked_seal_problems() -> list[str]:
    """Rows not linked yet whose content no longer matches their seal."""
    key = signing_key()
    with connection.cursor() as cursor:
        rows = unlinked_rows(cursor, 10**9)
    return [
        f"unlinked audit row {row['id']} ({row['action']}) does not match its seal: altered after it was written"
        for row in rows
        if row["seal"] != event_seal(key, row)
    ]


def seal_mismatches_recorded() -> list[str]:
    """Rows the sequencer found altered before it linked them, as the chain itself records."""
    return [
        f"audit row {event.object_id} (sequence {event.payload.get('sequence')}) was altered before it was "
        f"linked: {event.payload.get('problem')}"
        for event in AuditEvent.objects.filter(action=SEAL_MISMATCH).order_by("id")
    ]


def sequencer_run(stop: threading.Event, *, interval: float | None = None) -> None:
    """Link every `interval` seconds until `stop` is set; a failed pass is logged and retried."""
    interval = settings.AUDIT_LINK_INTERVAL_SECONDS if interval is None else interval
    while not stop.is_set():
        beat("sequencer")
        started = time.monotonic()
        try:
            close_old_connections()
            audit_link_all()
        except Exception:
            logger.exception("audit sequencer pass failed; retrying")
            connection.close()
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
