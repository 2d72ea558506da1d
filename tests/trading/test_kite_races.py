"""Requests and updates of Kite orders crossing each other: a cancel during a modification, two
modifications in a row, fills racing a quantity increase, a trade book lagging the order book, a
placement whose answer was lost, one exchange trade number in two accounts."""

from decimal import Decimal

import pytest
from django.db import connection

from audit.models import AuditEvent
from tests.fakes.kite import FakeKite
from tests.trading.conftest import kite_place, reconcile, refreshed, settle
from trading.kite.client import token_expiry
from trading.kite.updates import kite_ticker_order_update
from trading.models import KiteLink, Order, Trade, TradingAccount
from trading.orders.accounts import account_create
from trading.orders.fills import fill_apply
from trading.orders.services import order_cancel, order_modify
from tradingsite.encryption import encrypt

D = Decimal
pytestmark = pytest.mark.usefixtures("no_pause")


@pytest.mark.django_db(transaction=True)
def test_a_cancel_made_while_a_modification_is_at_kite_survives_its_refusal(kite, alice, infy):
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"))
    order_modify(order=refreshed(order), price=D("1491.00"), modified_by=alice)

    def trader_cancels(kite_order_id, params):
        order_cancel(order=refreshed(order), cancelled_by=alice, reason="kill it")
        connection.close()

    kite.on_modify, kite.next_modify = trader_cancels, ["reject"]
    settle()
    kite.on_modify = None
    settle()  # the cancel, made after the modification, goes out after it

    assert kite.orders[order.broker_order_id]["status"] == "CANCELLED"  # the cancel still went
    assert refreshed(order).price == D("1490.00")
    assert AuditEvent.objects.filter(action="order.modify_refused", object_id=str(order.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_a_second_modification_made_while_the_first_is_at_kite_is_sent_too(kite, alice, infy):
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"))
    order_modify(order=refreshed(order), price=D("1491.00"), modified_by=alice)
    seen = []

    def trader_modifies_again(kite_order_id, params):
        seen.append(params["price"])
        if len(seen) == 1:
            order_modify(order=refreshed(order), price=D("1492.00"), modified_by=alice)
            connection.close()

    kite.on_modify = trader_modifies_again
    settle()
    settle()  # the second modification goes out after the first

    assert seen == ["1491.00", "1492.00"] and kite.orders[order.broker_order_id]["price"] == 1492.0
    assert (refreshed(order).price, refreshed(order).pending_request) == (D("1492.00"), "")


@pytest.mark.django_db
def test_a_fill_update_before_a_price_modification_reaches_kite_does_not_confirm_it(kite, alice, infy):
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"), quantity=5)
    order_modify(order=refreshed(order), price=D("1491.00"), modified_by=alice)

    kite_ticker_order_update(kite.fill(order.broker_order_id, 1, 1490.0, at="2026-11-24 09:20:00"))
    assert refreshed(order).pending_request == "modify"
    settle()

    assert kite.orders[order.broker_order_id]["price"] == 1491.0
    assert (refreshed(order).price, refreshed(order).filled_quantity) == (D("1491.00"), 1)


@pytest.mark.django_db(transaction=True)
def test_fills_of_a_raised_quantity_arriving_before_its_confirmation_are_all_booked(kite, alice, infy):
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"), quantity=2)
    order_modify(order=refreshed(order), quantity=5, modified_by=alice)

    def kite_fills_at_once(kite_order_id, params):
        # Kite takes the new quantity and it trades in full; the updates overtake the modify's answer
        kite_ticker_order_update(kite.fill(kite_order_id, 2, 1490.0, at="2026-11-24 09:20:00"))
        kite_ticker_order_update(kite.fill(kite_order_id, 3, 1490.0, at="2026-11-24 09:20:01"))
        connection.close()

    kite.on_modify = kite_fills_at_once
    settle()

    order = refreshed(order)
    assert kite.orders[order.broker_order_id]["filled_quantity"] == 5
    assert (order.status, order.quantity, order.filled_quantity, order.pending_request) == (
        Order.Status.COMPLETE,
        5,
        5,
        "",
    )
    assert Trade.objects.filter(order=order).count() == 2
    assert reconcile(kite)["problems"] == []


@pytest.mark.django_db
def test_trades_missing_from_kites_trade_book_at_first_are_booked_when_it_catches_up(kite, alice, infy):
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"))
    kite.fill(order.broker_order_id, 2, 1490.0, at="2026-11-24 09:20:00")  # no update reaches the platform
    kite.trades_lagging = 2  # both looks of the first run see an empty trade book

    first = reconcile(kite)
    TradingAccount.objects.filter(pk=kite.account.pk).update(status="active", status_reason="")
    second = reconcile(kite)

    assert first["problems"] and second["problems"] == []
    order = refreshed(order)
    assert (order.status, order.filled_quantity) == (Order.Status.COMPLETE, 2)
    assert Trade.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_a_cancel_after_a_placement_whose_answer_was_lost_reaches_kite(kite, alice, infy):
    kite.next_place, kite.answer_delay_seconds = ["timeout_after_accept"], 1.5
    kite.orders_down = True  # and the order book cannot be read to find it by its tag
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))
    settle()
    assert len(kite.orders) == 1 and refreshed(order).status == Order.Status.RECEIVED

    order_cancel(order=refreshed(order), cancelled_by=alice, reason="mine")
    waiting = refreshed(order).pending_request
    kite.orders_down = False
    settle()  # the placement is retried: found at Kite by its tag, and then the cancel goes
    (kite_order_id,) = kite.orders
    kite_ticker_order_update(kite.message(kite_order_id))

    assert waiting == "cancel" and kite.orders[kite_order_id]["status"] == "CANCELLED"
    order = refreshed(order)
    assert (order.status, order.pending_request, order.broker_order_id) == (Order.Status.CANCELLED, "", kite_order_id)


@pytest.mark.django_db
def test_a_modification_after_a_placement_whose_answer_was_lost_reaches_kite(kite, alice, infy):
    kite.next_place, kite.answer_delay_seconds = ["timeout_after_accept"], 1.5
    kite.orders_down = True
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))
    settle()

    order_modify(order=refreshed(order), price=D("1491.00"), modified_by=alice)
    kite.orders_down = False
    settle()

    (placed,) = kite.orders.values()
    assert placed["price"] == 1491.0 and refreshed(order).price == D("1491.00")


@pytest.mark.django_db
def test_one_exchange_trade_number_books_in_each_of_two_accounts(kite, alice, bob, infy):
    # both sides of one exchange trade, each the trade of an order of its own account
    fake = FakeKite(api_key="kiteapp2", api_secret="secret2", redirect_url="http://testserver/kite/callback").start()
    other = account_create(owner=bob, name="bob-kite", cash=D("1000000"), broker=TradingAccount.Broker.KITE)
    mine = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1500.00"))
    theirs = kite_place(kite, bob, infy, send=True, order_type="LIMIT", price=D("1500.00"))
    Order.objects.filter(pk=theirs.pk).update(account=other)
    fake.stop()

    booked = [fill_apply(order=refreshed(o), quantity=2, price=D("1500"), trade_id="10000000") for o in (mine, theirs)]

    assert all(booked) and refreshed(theirs).filled_quantity == 2


@pytest.mark.django_db
def test_a_late_trade_on_a_cancelled_order_leaves_nothing_pending(kite, alice, infy):
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"), quantity=5)
    kite_ticker_order_update(kite.update(order.broker_order_id, status="CANCELLED", at="2026-11-24 09:20:00"))

    fill_apply(order=refreshed(order), quantity=2, price=D("1490"), trade_id="T1")

    order = refreshed(order)
    assert (order.status, order.filled_quantity, order.pending_quantity, order.cancelled_quantity) == (
        Order.Status.CANCELLED,
        2,
        0,
        3,
    )


@pytest.mark.django_db
def test_a_day_order_from_an_earlier_day_missing_from_kites_book_ends_here(kite, alice, infy):
    from datetime import timedelta

    from django.utils import timezone

    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"))
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - timedelta(days=1))
    kite.orders.clear()  # Kite's book is today's

    outcome = reconcile(kite)

    assert outcome["expired"] == 1
    assert refreshed(order).status == Order.Status.CANCELLED
    assert "ended with its trading day at Kite" in refreshed(order).status_message


@pytest.mark.django_db
def test_one_accounts_failing_reconciliation_does_not_stop_the_others(kite, alice, infy, caplog):
    from trading.tasks import kite_reconcile as task

    broken = account_create(owner=alice, name="alice-kite-2", cash=D("1"), broker=TradingAccount.Broker.KITE)
    now = kite.account.created_at
    KiteLink.objects.create(
        account=broken,
        api_key="kiteapp1",
        api_secret_encrypted=encrypt("secret"),
        access_token_encrypted="not-a-token-this-site-made",  # cannot be decrypted
        kite_user_id="ZZ0001",
        logged_in_at=now,
        expires_at=token_expiry(now),
    )
    kite_place(kite, alice, infy, send=True)

    task()

    assert KiteLink.objects.get(account=kite.account).reconciled_at is not None
    assert "Kite reconciliation of account" in caplog.text


@pytest.mark.django_db
def test_one_kite_user_cannot_be_linked_to_two_accounts(kite, alice):
    from trading.kite.client import KiteError, kite_session_complete

    other = account_create(owner=alice, name="alice-kite-2", cash=D("1"), broker=TradingAccount.Broker.KITE)
    link = KiteLink.objects.create(account=other, api_key="kiteapp1", api_secret_encrypted=encrypt("secret"))
    kite.request_tokens.add("request-token")

    with pytest.raises(KiteError, match="Kite user ZX1234 is already linked to account alice-kite: link each"):
        kite_session_complete(link=link, request_token="request-token", logged_in_by=alice)

    assert KiteLink.objects.get(account=other).access_token_encrypted == ""


@pytest.mark.django_db
def test_a_fill_whose_charges_cannot_be_priced_is_recorded_not_a_500(kite, alice, infy, client):
    import json

    from trading.models import ChargeRate

    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"))
    ChargeRate.objects.all().delete()  # the site's charge table has no row for today

    answer = client.post(
        "/kite/postback", json.dumps(kite.fill(order.broker_order_id, 2, 1490.0)), content_type="application/json"
    )

    assert answer.status_code == 200 and "no equity_delivery charge rate in force" in answer.json()["applied"]
    assert AuditEvent.objects.filter(action="kite.update_unfit", object_id=str(order.pk)).exists()
    assert refreshed(order).filled_quantity == 0  # booked by reconciliation once the table has its row
