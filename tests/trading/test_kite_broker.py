"""Orders to Kite through the real kiteconnect client and a fake Kite on loopback: tagged, protected at
market, rejected with Kite's reason, and never placed twice, whether Kite rate-limits the call or takes
the order and the answer is lost."""

import hashlib
import json
import time
from decimal import Decimal

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from audit.models import AuditEvent
from tests.trading.conftest import kite_place, refreshed, settle
from trading.brokers.kite import kite_tag
from trading.kite.reconcile import kite_reconcile
from trading.models import KiteLink, Order, OutboxEntry, Trade
from trading.orders.services import order_cancel, order_modify
from tradingsite.exceptions import ValidationError

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_market_order_reaches_kite_tagged_protected_and_with_the_algo_id(kite, alice, infy):
    order = kite_place(kite, alice, infy)

    settle()

    order = refreshed(order)
    ((kite_order_id, placed),) = kite.orders.items()
    sent = placed["sent"]
    assert order.status == Order.Status.OPEN and order.broker_order_id == kite_order_id
    assert sent["tag"] == kite_tag(order) and len(sent["tag"]) == 20
    assert (sent["market_protection"], sent["algo_id"]) == ("-1", "ALGO42")
    assert (sent["tradingsymbol"], sent["exchange"], sent["quantity"]) == ("INFY", "NSE", "2")
    assert "price" not in sent


def test_kites_refusal_becomes_a_rejection_with_kites_reason(kite, alice, infy):
    kite.next_place = ["reject"]
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1500.00"))

    settle()

    order = refreshed(order)
    assert order.status == Order.Status.REJECTED
    assert "Kite rejected the order: Tick size for this script is 0.05" in order.status_message
    assert kite.orders == {}


def test_a_rate_limited_placement_is_sent_again_and_placed_once(kite, alice, infy):
    kite.next_place = ["429"]
    order = kite_place(kite, alice, infy)

    settle()  # Kite answers 429: nothing placed, the outbox keeps the entry
    assert refreshed(order).status == Order.Status.RECEIVED and kite.orders == {}
    settle()

    assert refreshed(order).status == Order.Status.OPEN
    assert len(kite.orders) == 1
    assert OutboxEntry.objects.get(order=order).sent_at is not None


def test_a_timeout_after_kite_took_the_order_is_resolved_by_tag_not_by_placing_again(kite, alice, infy):
    kite.next_place = ["timeout_after_accept"]
    order = kite_place(kite, alice, infy)

    settle()  # the client gives up after 1 s; Kite has the order; the broker finds it by its tag
    settle()

    order = refreshed(order)
    assert len(kite.orders) == 1
    assert order.status == Order.Status.OPEN and order.broker_order_id == next(iter(kite.orders))
    placements = [call for call in kite.calls if call[:2] == ("POST", "/orders/regular")]
    assert len(placements) == 1


def test_an_ended_session_rejects_the_order_with_a_prompt_to_log_in(kite, alice, infy):
    KiteLink.objects.filter(account=kite.account).update(expires_at=timezone.now())
    order = kite_place(kite, alice, infy)

    settle()

    assert "log in to Kite again" in refreshed(order).status_message
    assert kite.orders == {}


def test_cancel_reaches_kite(kite, alice, infy):
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))
    settle()

    order_cancel(order=refreshed(order), cancelled_by=alice, reason="changed my mind")
    settle()

    assert kite.orders[refreshed(order).broker_order_id]["status"] == "CANCELLED"
    assert ("DELETE", f"/orders/regular/{refreshed(order).broker_order_id}") in [call[:2] for call in kite.calls]


def test_with_kite_routing_switched_off_an_order_is_rejected_not_sent(settings, kite, alice, infy):
    settings.KITE_ORDERS_ENABLED = False
    order = kite_place(kite, alice, infy)

    settle()

    assert "switched off on this site (KITE_ORDERS_ENABLED)" in refreshed(order).status_message
    assert kite.orders == {}


def post(client, body: dict):
    return client.post("/kite/postback", json.dumps(body), content_type="application/json")


def test_postbacks_book_fills_at_the_prices_kite_reports(kite, alice, infy, client):
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1495.00"))
    settle()
    order = refreshed(order)

    first = post(client, kite.update(order.broker_order_id, filled=1, average_price=1490.0, at="2026-11-24 09:21:00"))
    second = post(client, kite.update(order.broker_order_id, filled=2, average_price=1490.5, at="2026-11-24 09:21:05"))

    assert (first.status_code, second.status_code) == (200, 200)
    assert list(Trade.objects.filter(order=order).order_by("pk").values_list("quantity", "price")) == [
        (1, D("1490.00")),
        (1, D("1491.00")),
    ]
    assert refreshed(order).status == Order.Status.COMPLETE


def refusals(reason: str) -> float:
    return (
        REGISTRY.get_sample_value("trading_kite_updates_refused_total", {"source": "postback", "reason": reason}) or 0
    )


def test_forged_repeated_and_stale_postbacks_are_refused_and_counted(kite, alice, infy, client):
    before = {reason: refusals(reason) for reason in ("checksum", "replay", "stale")}
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1495.00"))
    settle()
    order = refreshed(order)
    early = kite.update(order.broker_order_id, filled=1, average_price=1490.0, at="2026-11-24 09:21:00")
    late = kite.update(order.broker_order_id, filled=1, average_price=1490.0, at="2026-11-24 09:22:00")
    post(client, late)

    forged = kite.update(order.broker_order_id, filled=2, average_price=1.0, at="2026-11-24 09:23:00")
    forged["checksum"] = hashlib.sha256(f"{forged['order_id']}{forged['order_timestamp']}guess".encode()).hexdigest()
    forged = post(client, forged)
    repeated = post(client, late)
    stale = post(client, early)

    assert forged.status_code == repeated.status_code == stale.status_code == 403
    assert "checksum" in forged.json()["error"]["message"]
    assert "received before" in repeated.json()["error"]["message"]
    assert "older than the one already applied" in stale.json()["error"]["message"]
    assert Trade.objects.filter(order=order).count() == 1 and refreshed(order).filled_quantity == 1
    # unauthenticated input: counted and logged, never in the audit trail
    assert not AuditEvent.objects.filter(action__startswith="kite.postback").exists()
    assert {reason: refusals(reason) - before[reason] for reason in before} == {"checksum": 1, "replay": 1, "stale": 1}


def test_kites_per_second_limit_holds_orders_back_and_sends_them_after(settings, kite, alice, infy):
    settings.KITE_ORDERS_PER_SECOND = 2
    orders = [kite_place(kite, alice, infy) for _ in range(3)]
    time.sleep(1.02 - time.time() % 1)  # start at the top of a second, so the three sends share one

    settle()
    waiting = [refreshed(order).status for order in orders]
    time.sleep(1.1)
    settle()

    assert sorted(waiting) == ["OPEN", "OPEN", "PUT ORDER REQ RECEIVED"]
    assert [refreshed(order).status for order in orders] == ["OPEN"] * 3 and len(kite.orders) == 3


def test_past_kites_daily_limit_an_order_is_rejected_with_the_reason(settings, kite, alice, infy):
    settings.KITE_ORDERS_PER_DAY = 1
    first, second = kite_place(kite, alice, infy), kite_place(kite, alice, infy)

    settle()

    assert refreshed(first).status == Order.Status.OPEN
    assert "Kite allows 1 orders per day per account" in refreshed(second).status_message


def test_past_kites_modification_limit_a_modification_is_refused_at_once(settings, kite, alice, infy):
    settings.KITE_MODIFICATIONS_PER_ORDER = 1
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))
    settle()
    order_modify(order=refreshed(order), price=D("1491.00"), modified_by=alice)

    with pytest.raises(ValidationError, match="Kite allows 1 modifications per order"):
        order_modify(order=refreshed(order), price=D("1492.00"), modified_by=alice)
    settle()

    (placed,) = kite.orders.values()
    assert (placed["sent"]["price"], placed["price"]) == ("1491.00", 1491.0)
    assert refreshed(order).price == D("1491.00")  # Kite took it: confirmed here


def test_a_cancel_reported_by_kite_is_followed_without_sending_a_cancel_back(kite, alice, infy, client):
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))
    settle()
    order = refreshed(order)

    answered = post(client, kite.update(order.broker_order_id, status="CANCELLED", at="2026-11-24 15:30:00"))
    settle()

    assert answered.status_code == 200 and refreshed(order).status == Order.Status.CANCELLED
    assert not OutboxEntry.objects.filter(order=order, action=OutboxEntry.Action.CANCEL).exists()
    assert not [call for call in kite.calls if call[0] == "DELETE"]


def test_reconciliation_repairs_a_fill_missed_during_an_outage_once(kite, alice, infy):
    # given an order at Kite that filled while no postback reached the platform
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1495.00"))
    settle()
    order = refreshed(order)
    kite.update(order.broker_order_id, filled=2, average_price=1494.5, at="2026-11-24 10:05:00")
    # and an order at Kite the platform never placed
    elsewhere = kite.order_elsewhere(tradingsymbol="NOSUCH", transaction_type="BUY", quantity=1, price=100)

    first = kite_reconcile(KiteLink.objects.get(account=kite.account))
    second = kite_reconcile(KiteLink.objects.get(account=kite.account))

    order = refreshed(order)
    assert order.status == Order.Status.COMPLETE and order.filled_quantity == 2
    assert list(Trade.objects.filter(order=order).values_list("quantity", "price")) == [(2, D("1494.50"))]
    assert (first["updated"], first["unknown"], second["updated"]) == (1, 1, 0)
    # recorded once for review, not again at every reconciliation
    assert AuditEvent.objects.filter(action="kite.order_unknown", object_id=elsewhere).count() == 1


def test_kites_order_limits_count_an_order_once_however_often_it_is_retried(settings, kite, alice, infy):
    settings.KITE_ORDERS_PER_DAY = 2
    kite.next_place = ["429", "429"]  # Kite asks the first order to wait, twice
    first = kite_place(kite, alice, infy)
    settle()
    settle()
    settle()
    second = kite_place(kite, alice, infy)

    settle()

    assert [refreshed(first).status, refreshed(second).status] == ["OPEN", "OPEN"] and len(kite.orders) == 2
    third = kite_place(kite, alice, infy)
    settle()
    assert "Kite allows 2 orders per day per account" in refreshed(third).status_message
