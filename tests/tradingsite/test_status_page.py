"""The ops status page: besides PostgreSQL and Redis, the feed's freshness, the workers that answer,
beat's jobs and when each last ran (late ones marked), the outbox, the Kite sessions and the latest
backup, each read when the page is asked for."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from tests.conftest import api_for
from tests.factories import OrderBody
from tests.trading.conftest import instrument_make
from trading.models import KiteLink
from trading.orders.accounts import account_create

pytestmark = pytest.mark.django_db


def test_the_status_page_shows_the_feed_workers_jobs_outbox_kite_and_backups(client_for, alice, dave):
    instrument_make("RELIANCE", 738561, "2500.00")  # its price recorded now
    account = account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    assert api_for(alice).post("/api/v1/orders", OrderBody(quantity=1), format="json").status_code == 201
    KiteLink.objects.create(
        account=account, api_key="k1", api_secret_encrypted="-", expires_at=timezone.now() - timedelta(hours=1)
    )
    call_command("setup_periodic_tasks", stdout=StringIO())
    PeriodicTask.objects.filter(name="outbox-sweep").update(last_run_at=timezone.now())
    PeriodicTask.objects.filter(name="audit-link").update(last_run_at=timezone.now() - timedelta(hours=2))

    page = client_for(dave).get("/status/").content.decode()

    assert "Newest price: " in page and " s ago)" in page
    assert "Celery workers answering: " in page and "none answered within a second" in page
    sweep = page[page.index("<td>outbox-sweep</td>") :].split("</tr>")[0]
    assert "every 10 seconds" in sweep and "late" not in sweep
    linking = page[page.index("<td>audit-link</td>") :].split("</tr>")[0]
    assert "late" in linking  # every minute, last run two hours ago
    assert "Outbox: 1 unsent, the oldest from" in page  # OUTBOX_DISPATCH=sweep in tests: nothing sent it
    kite = page[page.index('id="kite-sessions"') :].split("</table>")[0]
    assert "alice-paper" in kite and "expired" in kite
    assert "Latest backup: " in page and "none recorded" in page
