"""The database itself refuses to change or remove audit rows, whoever asks."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def event():
    return audit_record(action="order.place", actor="tests", object_type="order", object_id="1", payload={"qty": 5})


def refused(sql: str, params=()) -> str:
    with pytest.raises(DatabaseError) as excinfo, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
    return str(excinfo.value)


def test_update_of_an_audit_row_is_refused_by_the_database(event):
    message = refused("UPDATE audit_auditevent SET actor = 'mallory' WHERE id = %s", [event.pk])

    assert "append-only: UPDATE" in message
    assert AuditEvent.objects.get(pk=event.pk).actor == "tests"


def test_orm_update_is_refused_too(event):
    with pytest.raises(DatabaseError, match="append-only: UPDATE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(payload={"qty": 500})

    assert AuditEvent.objects.get(pk=event.pk).payload == {"qty": 5}


def test_delete_of_an_audit_row_is_refused_by_the_database(event):
    message = refused("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])

    assert "append-only: DELETE" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_truncate_of_the_audit_table_is_refused_by_the_database(event):
    message = refused("TRUNCATE audit_auditevent")

    assert "append-only: TRUNCATE" in message
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_refusal_holds_for_the_applications_own_database_user(event):
    # The suite connects exactly as the application does; that role owns the table (it ran the
    # migrations) and here is even a superuser, and the triggers still refuse it.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, tableowner FROM pg_tables WHERE tablename = 'audit_auditevent'")
        user, owner = cursor.fetchone()
    assert user == owner

    assert "append-only: DELETE" in refused("DELETE FROM audit_auditevent")
