"""Reconciliation against a fake Kite's orders, trades, positions and holdings, through the real
kiteconnect client: orders placed outside the platform adopted, differing books halting the account."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from tests.trading.conftest import kite_place, reconcile
from trading.models import Order, Position, Trade, TradingAccount

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_pause")]
D = Decimal


def test_an_order_placed_in_kites_own_app_is_adopted_flagged_and_its_fill_booked_once(kite, alice, infy, client_for):
    elsewhere = kite.order_elsewhere(tradingsymbol="INFY", transaction_type="BUY", quantity=3, price=1490.0)
    kite.fill(elsewhere, 3, 1489.95, at="2026-11-24 10:01:00")

    first = reconcile(kite)
    page = client_for(alice).get("/kite/").content.decode()
    second = reconcile(kite)

    order = Order.objects.get(account=kite.account)
    assert (first["adopted"], first["problems"], second["adopted"], second["updated"]) == (1, [], 0, 0)
    assert order.adopted and order.broker_order_id == elsewhere and order.placed_by is None
    assert (order.status, order.filled_quantity, order.price) == (Order.Status.COMPLETE, 3, D("1490.00"))
    assert list(Trade.objects.filter(order=order).values_list("quantity", "price")) == [(3, D("1489.95"))]
    assert Position.objects.get(account=kite.account).quantity == 3
    assert AuditEvent.objects.filter(action="kite.order_adopted", object_id=str(order.pk)).count() == 1
    kite.account.refresh_from_db()
    assert kite.account.status == TradingAccount.Status.ACTIVE
    listed = client_for(alice).get("/api/v1/orders", {"account": kite.account.pk}).json()["results"]
    assert [(row["id"], row["adopted"]) for row in listed] == [(order.pk, True)]
    assert "books agree; 1 order placed outside the platform adopted" in page


def test_positions_differing_from_kites_beyond_the_tolerance_halt_the_account_and_say_why(
    kite, alice, infy, client_for
):
    # the platform's books hold 2 INFY bought today; Kite's also hold 10 delivered from before
    order = kite_place(kite, alice, infy, send=True)
    kite.update(order.broker_order_id, filled=2, average_price=1500.0, at="2026-11-24 10:02:00")
    kite.holdings = [{"exchange": "NSE", "tradingsymbol": "INFY", "instrument_token": 408065, "quantity": 10}]

    outcome = reconcile(kite)

    problem = "NSE:INFY CNC: 2 here, 12 at Kite"
    assert outcome["problems"] == [problem]
    kite.account.refresh_from_db()
    assert kite.account.status == TradingAccount.Status.HALTED and problem in kite.account.status_reason
    event = AuditEvent.objects.get(action="kite.reconcile_mismatch")
    assert event.payload["problems"] == [problem]
    # fail closed: no new order until someone looks
    refused = kite_place(kite, alice, infy, transaction_type="SELL", quantity=1)
    assert refused.status == Order.Status.REJECTED and "halted" in refused.status_message
    # and both pages show why
    client = client_for(alice)
    assert problem in client.get("/kite/").content.decode()
    trade_page = client.get("/trade/", {"account": kite.account.pk}).content.decode()
    assert 'id="acct-status-reason"' in trade_page and problem in trade_page


def test_a_difference_within_the_tolerance_does_not_halt(settings, kite, infy):
    settings.KITE_RECONCILE_TOLERANCE = 10
    kite.holdings = [{"exchange": "NSE", "tradingsymbol": "INFY", "instrument_token": 408065, "quantity": 10}]

    outcome = reconcile(kite)

    kite.account.refresh_from_db()
    assert outcome["problems"] == [] and kite.account.status == TradingAccount.Status.ACTIVE


def test_a_fill_kite_traded_but_the_platform_never_heard_of_is_a_mismatch(kite, alice, infy):
    # Kite's trade book has a fill of an order whose order-book row still says nothing was filled
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", product="MIS", price=D("1495.00"))
    held = kite.orders[order.broker_order_id]
    kite.trades = lambda: [
        {"order_id": held["order_id"], "exchange": "NSE", "tradingsymbol": "INFY", "product": "MIS", "quantity": 1}
    ]

    outcome = reconcile(kite)

    assert (
        f"order {order.pk} (INFY, Kite {order.broker_order_id}): 0 filled here, 1 traded at Kite" in outcome["problems"]
    )
    kite.account.refresh_from_db()
    assert kite.account.status == TradingAccount.Status.HALTED
