"""Orders to Kite through the real kiteconnect client and a fake Kite on loopback: tagged, protected at
market, rejected with Kite's reason, and never placed twice, whether Kite rate-limits the call or takes
the order and the answer is lost."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.fakes.kite import FakeKite
from trading.brokers.kite import kite_tag
from trading.kite import token_expiry
from trading.models import KiteLink, Order, OutboxEntry, TradingAccount
from trading.services import account_create, order_cancel, order_place
from tradingsite.encryption import encrypt

from .conftest import instrument_make, refreshed, settle

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def kite(settings, alice):
    """Alice's account linked to a Kite app and logged in for the day; the fake knows the token."""
    fake = FakeKite(api_key="kiteapp1", api_secret="secret", redirect_url="http://testserver/kite/callback").start()
    settings.KITE_API_ROOT = fake.root
    settings.KITE_TIMEOUT_SECONDS = 1
    settings.KITE_ALGO_ID = "ALGO42"
    settings.KITE_ORDERS_ENABLED = True
    fake.access_tokens.add("day-token")
    account = account_create(
        owner=alice, name="alice-kite", cash=D("1000000"), broker=TradingAccount.Broker.KITE, created_by=alice
    )
    now = timezone.now()
    KiteLink.objects.create(
        account=account,
        api_key="kiteapp1",
        api_secret_encrypted=encrypt("secret"),
        access_token_encrypted=encrypt("day-token"),
        logged_in_at=now,
        expires_at=token_expiry(now),
    )
    fake.account = account
    yield fake
    fake.stop()


@pytest.fixture
def infy(db):
    return instrument_make("INFY", 408065, "1500.00")


def place(kite, alice, instrument, **fields) -> Order:
    fields = {"order_type": "MARKET", "quantity": 2, **fields}
    return order_place(
        account=kite.account,
        instrument=instrument,
        transaction_type="BUY",
        product="CNC",
        placed_by=alice,
        **fields,
    )


def test_a_market_order_reaches_kite_tagged_protected_and_with_the_algo_id(kite, alice, infy):
    order = place(kite, alice, infy)

    settle()

    order = refreshed(order)
    (sent,) = kite.orders.values()
    assert order.status == Order.Status.OPEN and order.broker_order_id == sent["order_id"]
    assert sent["tag"] == kite_tag(order) and len(sent["tag"]) == 20
    assert (sent["market_protection"], sent["algo_id"]) == ("-1", "ALGO42")
    assert (sent["tradingsymbol"], sent["exchange"], sent["quantity"]) == ("INFY", "NSE", "2")
    assert "price" not in sent


def test_kites_refusal_becomes_a_rejection_with_kites_reason(kite, alice, infy):
    kite.next_place = ["reject"]
    order = place(kite, alice, infy, order_type="LIMIT", price=D("1500.00"))

    settle()

    order = refreshed(order)
    assert order.status == Order.Status.REJECTED
    assert "Kite rejected the order: Tick size for this script is 0.05" in order.status_message
    assert kite.orders == {}


def test_a_rate_limited_placement_is_sent_again_and_placed_once(kite, alice, infy):
    kite.next_place = ["429"]
    order = place(kite, alice, infy)

    settle()  # Kite answers 429: nothing placed, the outbox keeps the entry
    assert refreshed(order).status == Order.Status.RECEIVED and kite.orders == {}
    settle()

    assert refreshed(order).status == Order.Status.OPEN
    assert len(kite.orders) == 1
    assert OutboxEntry.objects.get(order=order).sent_at is not None


def test_a_timeout_after_kite_took_the_order_is_resolved_by_tag_not_by_placing_again(kite, alice, infy):
    kite.next_place = ["timeout_after_accept"]
    order = place(kite, alice, infy)

    settle()  # the client gives up after 1 s; Kite has the order; the broker finds it by its tag
    settle()

    order = refreshed(order)
    assert len(kite.orders) == 1
    assert order.status == Order.Status.OPEN and order.broker_order_id == next(iter(kite.orders))
    placements = [call for call in kite.calls if call[:2] == ("POST", "/orders/regular")]
    assert len(placements) == 1


def test_an_ended_session_rejects_the_order_with_a_prompt_to_log_in(kite, alice, infy):
    KiteLink.objects.filter(account=kite.account).update(expires_at=timezone.now())
    order = place(kite, alice, infy)

    settle()

    assert "log in to Kite again" in refreshed(order).status_message
    assert kite.orders == {}


def test_cancel_reaches_kite(kite, alice, infy):
    order = place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))
    settle()

    order_cancel(order=refreshed(order), cancelled_by=alice, reason="changed my mind")
    settle()

    assert kite.orders[refreshed(order).broker_order_id]["status"] == "CANCELLED"
    assert ("DELETE", f"/orders/regular/{refreshed(order).broker_order_id}") in [call[:2] for call in kite.calls]


def test_with_kite_routing_switched_off_an_order_is_rejected_not_sent(settings, kite, alice, infy):
    settings.KITE_ORDERS_ENABLED = False
    order = place(kite, alice, infy)

    settle()

    assert "switched off on this site (KITE_ORDERS_ENABLED)" in refreshed(order).status_message
    assert kite.orders == {}
