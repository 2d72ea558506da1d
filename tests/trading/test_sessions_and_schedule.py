from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from portfolio.models import PnlDaily
from portfolio.services import pnl_daily_record
from tests.trading.conftest import refreshed, settle
from trading.models import Order
from trading.orders.sessions import day_orders_expire

D = Decimal
pytestmark = pytest.mark.django_db


def test_day_orders_expire_at_the_close_and_filled_ones_stand(account, place, reliance):
    resting = place(reliance, quantity=3, price=D("2450.00"))
    filled = place(reliance, order_type="MARKET", quantity=2)
    settle()

    assert day_orders_expire() == 1

    assert refreshed(resting).status == Order.Status.CANCELLED
    assert refreshed(resting).status_message == "DAY order expired at market close"
    assert refreshed(filled).status == Order.Status.COMPLETE


def test_daily_pnl_is_kept_once_per_day(account, place, reliance):
    place(reliance, order_type="MARKET", quantity=2)
    settle()

    pnl_daily_record()
    pnl_daily_record()

    row = PnlDaily.objects.get(account=account)
    assert row.charges == Order.objects.get().trades.get().total_charges
    assert row.total == -row.charges
    api = APIClient()
    api.force_authenticate(account.owner)
    history = api.get("/api/v1/portfolio/pnl-daily").json()
    assert [(day["charges"], day["total"]) for day in history] == [(str(row.charges), str(row.total))]
    assert api.get("/api/v1/portfolio/pnl-daily", {"days": "0"}).status_code == 400


def test_the_beat_schedule_is_created_once_with_the_session_edges_in_ist():
    call_command("setup_periodic_tasks", stdout=StringIO())
    call_command("setup_periodic_tasks", stdout=StringIO())

    squareoff = PeriodicTask.objects.get(name="paper-mis-squareoff")
    close = PeriodicTask.objects.get(name="paper-session-close")
    assert PeriodicTask.objects.filter(name="outbox-sweep").count() == 1
    assert (squareoff.crontab.hour, squareoff.crontab.minute, str(squareoff.crontab.timezone)) == (
        "15",
        "20",
        "Asia/Kolkata",
    )
    assert (close.crontab.hour, close.crontab.minute, close.crontab.day_of_week) == ("15", "30", "1-5")
    assert all(task.expire_seconds for task in PeriodicTask.objects.exclude(name="celery.backend_cleanup"))
