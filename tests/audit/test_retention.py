"""Retention: audit rows older than seven years (by default) leave as the oldest part of the chain, with
a chained record of what went, so the rest still verifies; rows removed any other way are caught."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.chain import chain_verify
from audit.models import AuditEvent
from audit.retention import audit_retention_apply
from audit.services import audit_record
from tests.conftest import audit_linked

pytestmark = pytest.mark.django_db


@pytest.fixture
def events():
    written = [audit_record(action="order.place", actor="tests", object_type="order", object_id=n) for n in range(8)]
    return list(audit_linked(*written))


def test_the_default_retention_of_audit_records_is_seven_years(settings):
    assert settings.AUDIT_RETENTION_DAYS >= 7 * 365


def test_rows_past_retention_leave_and_the_chain_still_verifies_from_the_recorded_anchor(settings, events):
    # given "now" is seven years after the fifth event
    fifth = events[4]
    now = fifth.created_at + timedelta(days=settings.AUDIT_RETENTION_DAYS)
    before = AuditEvent.objects.count()

    removed = audit_retention_apply(now=now)

    remaining = AuditEvent.objects.order_by("sequence")
    purge = remaining.get(action="audit.retention_purge")
    assert removed["audit_events"] == before - (AuditEvent.objects.count() - 1)
    assert remaining.first().sequence == fifth.sequence
    assert purge.payload["through_sequence"] == fifth.sequence - 1
    assert purge.payload["through_hash"] == fifth.prev_hash
    assert chain_verify().ok
    call_command("audit_verify")


def test_a_recent_row_cannot_be_deleted_even_by_the_purge_setting_for_an_older_moment(events):
    with pytest.raises(DatabaseError, match="append-only: DELETE"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('audit.purge_before', %s, true)", [events[0].created_at.isoformat()])
            cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [events[5].pk])

    assert AuditEvent.objects.filter(pk=events[5].pk).exists()


def test_oldest_rows_removed_without_a_purge_record_are_caught(events):
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update_delete")
        cursor.execute("DELETE FROM audit_auditevent WHERE sequence < %s", [events[3].sequence])
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_no_update_delete")

    report = chain_verify()
    assert not report.ok and report.broken_sequence == events[3].sequence and "rows deleted" in report.problem
    with pytest.raises(CommandError, match="rows deleted"):
        call_command("audit_verify")
