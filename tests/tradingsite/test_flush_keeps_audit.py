import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from audit.chain import chain_verify
from audit.models import AuditEvent
from audit.services import audit_record


@pytest.mark.django_db(transaction=True)
def test_flush_empties_the_database_but_keeps_the_audit_trail_intact():
    get_user_model().objects.create_user(username="temp", password="x-very-long-password")
    event = audit_record(action="user.create", actor="tests", object_type="user", object_id="temp")

    call_command("flush", interactive=False, verbosity=0)

    assert not get_user_model().objects.filter(username="temp").exists()
    assert AuditEvent.objects.filter(pk=event.pk).exists()
    assert chain_verify().ok
