"""The management commands run on the same services as the API."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from trading.models import Order

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_place_show_and_cancel_from_the_command_line(account, reliance):
    placed = run("order_place", "--user", "alice", "NSE:RELIANCE", "BUY", "4", "--send")
    resting = run("order_place", "--user", "alice", "NSE:RELIANCE", "BUY", "1", "--type", "LIMIT", "--price", "2450")
    order_id = resting.split()[1].rstrip(":")
    cancelled = run("order_cancel", "--user", "alice", order_id)
    shown = run("positions_show", "--user", "alice")

    assert "BUY 4 RELIANCE MARKET [COMPLETE]" in placed
    assert "[CANCELLED]" in cancelled
    assert "RELIANCE" in shown and "CNC" in shown
    assert AuditEvent.objects.filter(action="order.cancel", object_id=order_id, actor="alice").exists()


def test_a_rejection_from_the_command_line_says_why(account, reliance):
    with pytest.raises(CommandError, match="price_band: price 9000.00 is outside"):
        run("order_place", "--user", "alice", "NSE:RELIANCE", "BUY", "1", "--type", "LIMIT", "--price", "9000.00")
    assert Order.objects.get().status == Order.Status.REJECTED


def test_bad_arguments_name_the_problem(account, reliance):
    with pytest.raises(CommandError, match="EXCHANGE:TRADINGSYMBOL"):
        run("order_place", "--user", "alice", "RELIANCE", "BUY", "1")
    with pytest.raises(CommandError, match="no user 'mallory'"):
        run("order_place", "--user", "mallory", "NSE:RELIANCE", "BUY", "1")
    with pytest.raises(CommandError, match="'abc' is not a price"):
        run("order_place", "--user", "alice", "NSE:RELIANCE", "BUY", "1", "--price", "abc")
