"""The hash chain: every row follows from the one before, and the verify command names the first that does not."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from audit.chain import chain_verify, event_hash
from audit.hashing import GENESIS_HASH
from audit.models import AuditEvent
from audit.services import AuditPayloadError, audit_record
from tests.conftest import audit_linked
from tests.threads import run_threads


def verify_output() -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_each_row_hashes_the_previous_rows_hash_and_its_own_content():
    first = audit_record(action="account.halt", actor="tests", object_type="account", object_id=7)
    second = audit_record(action="account.resume", actor="tests", object_type="account", object_id=7)
    assert (first.sequence, first.hash, second.sequence) == (None, None, None)  # written unlinked

    audit_linked(first, second)

    assert second.sequence == first.sequence + 1
    assert second.prev_hash == first.hash
    content = AuditEvent.objects.filter(pk=second.pk).values().get()
    assert second.hash == event_hash(prev_hash=first.hash, content=content)
    assert first.hash != second.hash


@pytest.mark.django_db
def test_payloads_survive_the_database_round_trip_and_verify():
    # given payloads with money, text in other scripts, nested values and numbers jsonb rewrites
    audit_record(
        action="order.place",
        actor="tests",
        payload={
            "price": Decimal("2450.05"),
            "symbol": "RELIANCE",
            "note": "क्रय आदेश ✓",
            "legs": [{"qty": 1}, {"qty": 2.5}],
            "huge": 1e20,
            "tiny": 1e-7,
        },
    )

    # when the sequencer links it and the chain is verified from what the database hands back
    audit_linked()
    report = chain_verify()

    # then nothing is reported altered (the seal made when it was written matches what was stored),
    # and the money kept every digit
    assert report.ok, report.problem
    assert "audit chain intact" in verify_output()
    assert AuditEvent.objects.filter(action="order.place").latest("id").payload["price"] == "2450.05"


@pytest.mark.django_db
def test_a_payload_that_is_not_json_is_refused_with_the_reason():
    with pytest.raises(AuditPayloadError, match="cannot be stored as JSON"):
        audit_record(action="order.place", payload={"price": float("nan")})
    with pytest.raises(AuditPayloadError, match="must be a JSON object"):
        audit_record(action="order.place", payload=["not", "an", "object"])


def tamper(sql: str, params) -> None:
    """Change the table behind the triggers' back, as only a superuser can."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER USER")


@pytest.mark.django_db
def test_verify_names_a_row_altered_behind_the_triggers_back():
    # given a healthy chain
    events = audit_linked(
        *[audit_record(action="order.place", actor="tests", payload={"qty": qty}) for qty in (1, 2, 3, 4)]
    )
    assert "audit chain intact" in verify_output()

    # when a superuser disables the triggers and rewrites the third row's quantity
    tamper("UPDATE audit_auditevent SET payload = '{\"qty\": 300}' WHERE id = %s", [events[2].pk])

    # then the verify command fails and names exactly that row
    with pytest.raises(CommandError) as excinfo:
        verify_output()
    message = str(excinfo.value)
    assert f"sequence {events[2].sequence} (row id {events[2].pk})" in message
    assert "row altered" in message


@pytest.mark.django_db
def test_verify_catches_a_row_whose_hash_was_recomputed_to_hide_an_edit():
    events = audit_linked(
        *[audit_record(action="order.place", actor="tests", payload={"qty": qty}) for qty in (1, 2, 3)]
    )
    forged = {**AuditEvent.objects.filter(pk=events[1].pk).values().get(), "actor": "mallory"}
    forged_hash = event_hash(prev_hash=events[0].hash, content=forged)

    tamper("UPDATE audit_auditevent SET actor = 'mallory', hash = %s WHERE id = %s", [forged_hash, events[1].pk])

    # the forged row's hash is self-consistent, but its content no longer matches the seal made when it
    # was written, which needs the audit key to remake: the forged row itself is named
    report = chain_verify()
    assert report.broken_sequence == events[1].sequence
    assert "does not match its seal" in report.problem


@pytest.mark.django_db
def test_verify_names_the_gap_left_by_a_deleted_row():
    events = audit_linked(
        *[audit_record(action="order.place", actor="tests", payload={"qty": qty}) for qty in (1, 2, 3)]
    )

    tamper("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])

    with pytest.raises(CommandError, match=f"sequence {events[1].sequence} is missing"):
        verify_output()


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_writers_leave_one_unbroken_chain():
    # given 50 threads, each with its own database connection, released at the same instant
    writers = 50
    before = AuditEvent.objects.count()

    # when they all append at once
    results = run_threads(
        writers, lambda n: audit_record(action="order.place", actor=f"writer-{n}", object_type="order", object_id=n)
    )
    errors = [result for result in results if isinstance(result, BaseException)]

    # then every write landed and, once the sequencer has run, on one chain with no fork, gap or duplicate
    assert errors == []
    audit_linked()
    rows = list(AuditEvent.objects.order_by("sequence").values("sequence", "prev_hash", "hash", "actor"))
    assert len(rows) == before + writers
    assert [row["sequence"] for row in rows] == list(range(1, len(rows) + 1))
    assert rows[0]["prev_hash"] == GENESIS_HASH
    assert all(row["prev_hash"] == previous["hash"] for previous, row in zip(rows, rows[1:], strict=False))
    assert {row["actor"] for row in rows[-writers:]} == {f"writer-{n}" for n in range(writers)}
    assert chain_verify().ok
