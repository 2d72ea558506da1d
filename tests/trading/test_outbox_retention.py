"""Sent outbox entries leave after OUTBOX_RETENTION_DAYS; unsent ones stay, however old."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.trading.conftest import settle
from trading.brokers.dispatch import outbox_retention_apply
from trading.models import OutboxEntry

pytestmark = pytest.mark.django_db


def test_sent_entries_past_retention_are_removed_and_unsent_ones_kept(settings, place, reliance, infy):
    settings.OUTBOX_RETENTION_DAYS = 30
    old, recent = place(reliance), place(infy)
    settle()
    unsent = place(reliance)
    OutboxEntry.objects.filter(order=old).update(sent_at=timezone.now() - timedelta(days=31))
    OutboxEntry.objects.filter(order=unsent).update(created_at=timezone.now() - timedelta(days=400))

    assert outbox_retention_apply() == 1
    assert set(OutboxEntry.objects.values_list("order_id", flat=True)) == {recent.pk, unsent.pk}
