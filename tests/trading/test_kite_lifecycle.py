"""The live order lifecycle as Kite runs it, through the real kiteconnect client and a fake Kite on
loopback: rejections after OPEN, updates that arrive before the placement's answer, cancels that Kite
refuses because the order filled first, the same update from two sources at once, the kill switch
during a placement, and average prices from Kite's own trade records."""

import contextlib
import json
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from audit.models import AuditEvent
from tests.threads import run_threads, wait_for
from tests.trading.conftest import instrument_make, kite_place, reconcile, refreshed, settle
from trading.kite.updates import kite_postback_receive, kite_ticker_order_update
from trading.models import KiteLink, Order, OutboxEntry, Position, Trade, TradingAccount
from trading.orders.services import account_halt, order_cancel

D = Decimal


def post(client, body: dict):
    return client.post("/kite/postback", json.dumps(body), content_type="application/json")


@contextlib.contextmanager
def placement_on_its_way(kite):
    """The outbox sends the next placement in a thread and Kite takes it, but holds its answer back for
    0.8 s; inside, Kite's order id is known and the answer has not arrived. Waits for the answer."""
    kite.next_place, kite.answer_delay_seconds = ["delay"], 0.8
    sending = threading.Thread(target=lambda: (settle(), connection.close()))
    sending.start()
    try:
        yield wait_for(lambda: next(iter(kite.orders), None), timeout=5, what="the order at Kite"), sending
    finally:
        sending.join()


@pytest.mark.django_db
def test_kites_rejection_after_open_is_followed_by_postback_and_by_ticker(kite, alice, infy, client):
    by_postback = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1495.00"))
    by_ticker = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1495.00"))
    assert by_postback.status == by_ticker.status == Order.Status.OPEN

    answered = post(client, kite.update(by_postback.broker_order_id, status="REJECTED", at="2026-11-24 09:16:00"))
    applied = kite_ticker_order_update(
        kite.update(by_ticker.broker_order_id, status="REJECTED", at="2026-11-24 09:16:01")
    )

    assert (answered.status_code, answered.json()["applied"], applied) == (200, "rejected", "rejected")
    for order in (refreshed(by_postback), refreshed(by_ticker)):
        assert order.status == Order.Status.REJECTED and order.rejection_rule == "broker"
        assert order.status_message.startswith("Kite rejected the order") and order.pending_quantity == 0


@pytest.mark.django_db
def test_reconciliation_applies_a_rejection_after_open_and_reports_an_update_that_does_not_fit(
    kite, alice, infy, no_pause, client_for
):
    # given three orders at Kite: one rejected by Kite's risk check after OPEN, one filled, and one
    # cancelled here whose row at Kite says something the platform cannot follow
    rejected = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1495.00"))
    filled = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1495.00"))
    odd = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1495.00"))
    kite.update(rejected.broker_order_id, status="REJECTED", at="2026-11-24 09:16:00")
    kite.fill(filled.broker_order_id, 2, 1494.5, at="2026-11-24 09:16:01")
    kite.update(odd.broker_order_id, status="CANCELLED", at="2026-11-24 09:16:02")
    kite_ticker_order_update(kite.message(odd.broker_order_id))
    kite.orders[odd.broker_order_id]["status"] = "OPEN"  # Kite's row now contradicts what it said

    outcome = reconcile(kite)

    assert refreshed(rejected).status == Order.Status.REJECTED
    assert refreshed(filled).status == Order.Status.COMPLETE and refreshed(filled).filled_quantity == 2
    assert outcome["updated"] == 2 and outcome["problems"] == []
    (error,) = outcome["errors"]
    assert odd.broker_order_id in error and "Kite says OPEN but the order is CANCELLED here" in error
    assert KiteLink.objects.get(account=kite.account).reconcile_report["errors"] == [error]
    assert "Kite says OPEN but the order is CANCELLED here" in client_for(alice).get("/kite/").content.decode()
    assert AuditEvent.objects.filter(action="kite.update_unfit", object_id=str(odd.pk)).count() == 1
    # the next run still reports it (it is still so), recorded once, and the account trades on
    assert reconcile(kite)["errors"] == [error]
    assert AuditEvent.objects.filter(action="kite.update_unfit", object_id=str(odd.pk)).count() == 1
    kite.account.refresh_from_db()
    assert kite.account.status == TradingAccount.Status.ACTIVE


@pytest.mark.django_db
def test_a_cancel_kite_refuses_because_the_order_filled_books_the_fill_and_leaves_the_account_right(
    kite, alice, infy, no_pause
):
    # given an order that filled at Kite while its update had not reached the platform
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1495.00"))
    kite.fill(order.broker_order_id, 2, 1494.9, at="2026-11-24 09:20:00")

    # when the trader cancels it
    order_cancel(order=refreshed(order), cancelled_by=alice, reason="changed my mind")
    pending = refreshed(order)
    settle()

    # then it was live with a cancel pending until Kite answered; Kite refused, so the fill is booked
    assert (pending.status, pending.pending_request) == (Order.Status.OPEN, "cancel")
    order = refreshed(order)
    assert (order.status, order.filled_quantity, order.pending_request) == (Order.Status.COMPLETE, 2, "")
    (trade,) = Trade.objects.filter(order=order)
    (kites,) = kite.order_trades[order.broker_order_id]
    assert (trade.trade_id, trade.quantity, trade.price) == (kites["trade_id"], 2, D("1494.90"))
    assert Position.objects.get(account=kite.account).quantity == 2
    assert AuditEvent.objects.filter(action="order.cancel_refused", object_id=str(order.pk)).exists()
    assert reconcile(kite)["problems"] == []
    kite.account.refresh_from_db()
    assert kite.account.status == TradingAccount.Status.ACTIVE
    assert kite.account.cash == D("1000000") - D("2989.80") - trade.total_charges


@pytest.mark.django_db
def test_a_cancel_stays_pending_until_kite_confirms_it(kite, alice, infy, client):
    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"))

    order_cancel(order=refreshed(order), cancelled_by=alice)
    settle()
    waiting = refreshed(order)
    post(client, kite.message(order.broker_order_id))  # Kite's update: CANCELLED

    assert kite.orders[order.broker_order_id]["status"] == "CANCELLED"
    assert (waiting.status, waiting.pending_request) == (Order.Status.OPEN, "cancel")
    assert (refreshed(order).status, refreshed(order).pending_request) == (Order.Status.CANCELLED, "")


@pytest.mark.django_db
def test_average_prices_equal_kites_to_the_paisa_over_several_partial_fills(kite, alice, client):
    tcs = instrument_make("TCS", 2953217, "3857.00")
    order = kite_place(kite, alice, tcs, send=True, order_type="LIMIT", price=D("3857.30"), quantity=7)
    fills = [(1, 3857.20), (2, 3857.25), (3, 3857.15), (1, 3857.30)]

    for n, (quantity, price) in enumerate(fills):
        message = kite.fill(order.broker_order_id, quantity, price, at=f"2026-11-24 10:00:0{n}")
        assert post(client, message).status_code == 200

    order = refreshed(order)
    kites = kite.orders[order.broker_order_id]
    assert order.status == Order.Status.COMPLETE and order.filled_quantity == 7
    assert order.average_price.quantize(D("0.01")) == D(str(round(kites["average_price"], 2)))
    assert order.average_price == (sum(D(str(p)) * q for q, p in fills) / 7).quantize(D("0.0001"))
    booked = list(Trade.objects.filter(order=order).order_by("fill_timestamp").values_list("trade_id", "price"))
    assert booked == [(t["trade_id"], D(str(t["average_price"]))) for t in kite.order_trades[order.broker_order_id]]
    first = Trade.objects.filter(order=order).order_by("fill_timestamp").first()
    assert first.fill_timestamp.isoformat() == "2026-11-24T04:30:00+00:00"  # Kite's fill time, 10:00 IST


@pytest.mark.django_db(transaction=True)
def test_an_update_arriving_before_the_placements_answer_is_booked_at_once(kite, alice, infy):
    order = kite_place(kite, alice, infy)

    # when Kite fills the order and sends its update while the placement's answer is still on its way
    with placement_on_its_way(kite) as (kite_order_id, sending):
        message = kite.fill(kite_order_id, 2, 1500.05)
        started = time.monotonic()
        outcome = kite_postback_receive(json.dumps(message).encode())
        booked_after = time.monotonic() - started
        answer_pending = sending.is_alive()

    # then the fill was booked from the update, matched by its tag, within a second
    assert answer_pending and booked_after < 1.0 and "filled 2 at 1500.05" in outcome
    order = refreshed(order)
    assert (order.status, order.broker_order_id, order.filled_quantity) == (Order.Status.COMPLETE, kite_order_id, 2)
    assert Trade.objects.filter(order=order).count() == 1
    assert OutboxEntry.objects.get(order=order).sent_at is not None  # the late answer changed nothing


@pytest.mark.django_db(transaction=True)
def test_the_same_update_by_postback_and_ticker_at_once_books_each_fill_once(settings, kite, alice, infy):
    settings.KITE_ORDERS_PER_SECOND = 100
    TradingAccount.objects.filter(pk=kite.account.pk).update(max_orders_per_second=100)
    orders = [kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1495.00")) for _ in range(50)]

    for order in orders:
        message = kite.fill(order.broker_order_id, 2, 1494.95)
        body = json.dumps(message).encode()
        results = run_threads(
            2,
            lambda n, body=body, message=message: (
                kite_postback_receive(body) if n else kite_ticker_order_update(message)
            ),
        )
        assert not [r for r in results if isinstance(r, BaseException)], results

    assert [Trade.objects.filter(order=order).count() for order in orders] == [1] * 50
    assert Position.objects.get(account=kite.account).quantity == 100
    assert {refreshed(order).status for order in orders} == {Order.Status.COMPLETE}


@pytest.mark.django_db(transaction=True)
def test_the_kill_switch_during_a_placement_leaves_nothing_live_at_kite(kite, alice, infy):
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))

    with placement_on_its_way(kite) as (kite_order_id, _):
        account_halt(account=kite.account, reason="kill switch", halted_by=alice)
    settle()  # the cancel follows the placement's answer
    Client().post("/kite/postback", json.dumps(kite.message(kite_order_id)), content_type="application/json")

    assert [o["status"] for o in kite.orders.values()] == ["CANCELLED"]
    assert ("DELETE", f"/orders/regular/{kite_order_id}") in [call[:2] for call in kite.calls]
    order = refreshed(order)
    assert (order.status, order.broker_order_id) == (Order.Status.CANCELLED, kite_order_id)


@pytest.mark.django_db
def test_a_cancel_before_the_placement_is_sent_never_reaches_kite(kite, alice, infy):
    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))

    order_cancel(order=order, cancelled_by=alice)
    settle()

    assert refreshed(order).status == Order.Status.CANCELLED and kite.orders == {}


@pytest.mark.django_db
def test_a_modification_waits_for_kite_and_a_refused_one_leaves_the_order_as_it_was(kite, alice, infy):
    from trading.orders.services import order_modify

    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"))
    order_modify(order=refreshed(order), price=D("1491.00"), modified_by=alice)
    waiting = refreshed(order)
    settle()
    assert (waiting.price, waiting.pending_request) == (D("1490.00"), "modify")
    assert (refreshed(order).price, refreshed(order).pending_request) == (D("1491.00"), "")

    kite.fill(order.broker_order_id, 2, 1491.0)  # filled at Kite before the next modification lands
    order_modify(order=refreshed(order), price=D("1492.00"), modified_by=alice)
    settle()

    order = refreshed(order)
    assert (order.price, order.pending_request) == (D("1491.00"), "")
    assert AuditEvent.objects.filter(action="order.modify_refused", object_id=str(order.pk)).exists()


@pytest.mark.django_db(transaction=True)
def test_mis_square_off_run_twice_at_once_and_again_places_one_closing_order_at_kite(kite, alice, infy, client):
    from trading.orders.sessions import SQUAREOFF_TAG, mis_squareoff

    bought = kite_place(kite, alice, infy, send=True, product="MIS", quantity=3)
    post(client, kite.fill(bought.broker_order_id, 3, 1500.0))

    results = run_threads(2, lambda n: mis_squareoff())
    settle()
    again = mis_squareoff()

    assert not [r for r in results if isinstance(r, BaseException)], results
    closing = Order.objects.filter(account=kite.account, tag=SQUAREOFF_TAG)
    assert closing.count() == 1 and again == []
    (order,) = closing
    assert (order.transaction_type, order.quantity, order.status) == ("SELL", 3, Order.Status.OPEN)
    placed = [o for o in kite.orders.values() if o["transaction_type"] == "SELL"]
    assert [(o["order_id"], o["product"], o["quantity"]) for o in placed] == [(order.broker_order_id, "MIS", 3)]


@pytest.mark.django_db(transaction=True)
def test_a_modification_made_while_the_placement_is_on_its_way_reaches_kite_after_it(kite, alice, infy):
    from trading.orders.services import order_modify

    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))

    with placement_on_its_way(kite) as (kite_order_id, _):
        order_modify(order=refreshed(order), price=D("1491.00"), modified_by=alice)
    settle()

    assert kite.orders[kite_order_id]["price"] == 1491.0
    assert [call[0] for call in kite.calls if call[1].startswith("/orders/regular")] == ["POST", "PUT"]
    assert refreshed(order).price == D("1491.00") and refreshed(order).pending_request == ""


@pytest.mark.django_db
def test_a_forged_postback_for_an_order_nobody_placed_writes_nothing(kite, alice, infy, client):
    order = kite_place(kite, alice, infy, send=True)
    message = kite.fill(order.broker_order_id, 2, 1500.0)
    unknown = {**message, "order_id": "999999", "tag": None, "tags": []}
    audited = AuditEvent.objects.count()

    forged = post(client, {**unknown, "checksum": "0" * 64})
    genuine = post(client, {**unknown, "checksum": kite.checksum(unknown)})

    assert forged.status_code == 403 and forged.json()["error"]["code"] == "postback_refused"
    assert genuine.status_code == 200 and "left for reconciliation" in genuine.json()["applied"]
    assert list(AuditEvent.objects.order_by("pk").values_list("action", flat=True)[audited:]) == []
    assert not Trade.objects.exists()


@pytest.mark.django_db
def test_postbacks_past_the_per_address_limit_get_429_and_change_nothing(settings, kite, alice, infy, client):
    settings.KITE_POSTBACKS_PER_MINUTE = 2
    order = kite_place(kite, alice, infy, send=True)
    if time.time() % 60 > 58:  # all three within one minute's window
        time.sleep(2.1)
    post(client, kite.update(order.broker_order_id, status="OPEN", at="2026-11-24 09:16:00"))
    post(client, kite.update(order.broker_order_id, status="OPEN", at="2026-11-24 09:16:01"))

    third = post(client, kite.fill(order.broker_order_id, 2, 1500.0))

    assert third.status_code == 429 and third.json()["error"]["code"] == "throttled"
    assert int(third["Retry-After"]) <= 60 and not Trade.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_reconciliation_of_one_account_never_runs_twice_at_once(kite, alice, infy, no_pause):
    kite_place(kite, alice, infy, send=True)
    kite.answer_delay_seconds = 0

    results = run_threads(3, lambda n: reconcile(kite))

    ran = [r for r in results if isinstance(r, dict) and "orders" in r]
    skipped = [r for r in results if isinstance(r, dict) and "skipped" in r]
    assert len(ran) + len(skipped) == 3 and len(ran) >= 1
    assert all("already running" in r["skipped"] for r in skipped)
    assert AuditEvent.objects.filter(action="kite.order_adopted").count() == 0


@pytest.mark.django_db
def test_one_kite_order_id_belongs_to_one_order_of_an_account(kite, alice, infy):
    from django.db import IntegrityError

    first = kite_place(kite, alice, infy, send=True)
    second = kite_place(kite, alice, infy)

    with pytest.raises(IntegrityError):
        Order.objects.filter(pk=second.pk).update(broker_order_id=first.broker_order_id)


@pytest.mark.django_db
def test_a_modification_before_the_placement_is_sent_goes_out_with_the_placement(kite, alice, infy):
    from trading.orders.services import order_modify

    order = kite_place(kite, alice, infy, order_type="LIMIT", price=D("1490.00"))
    order_modify(order=order, price=D("1491.00"), modified_by=alice)
    settle()

    (placed,) = kite.orders.values()
    assert placed["price"] == 1491.0 and [call[0] for call in kite.calls if "/orders/regular" in call[1]] == ["POST"]
    assert (refreshed(order).status, refreshed(order).price) == (Order.Status.OPEN, D("1491.00"))


@pytest.mark.django_db
def test_the_api_answers_a_cancel_pending_at_kite_with_202_and_shows_it_pending(kite, alice, infy):
    from tests.conftest import api_for

    order = kite_place(kite, alice, infy, send=True, order_type="LIMIT", price=D("1490.00"))
    api = api_for(alice)

    answer = api.delete(f"/api/v1/orders/{order.pk}")
    listed = api.get("/api/v1/orders", {"account": kite.account.pk}).json()["results"]
    settle()
    post(Client(), kite.message(order.broker_order_id))
    after = api.get(f"/api/v1/orders/{order.pk}").json()

    assert answer.status_code == 202
    assert (answer.json()["status"], answer.json()["pending_request"]) == ("OPEN", "cancel")
    assert [(row["id"], row["pending_request"]) for row in listed] == [(order.pk, "cancel")]
    assert (after["status"], after["pending_request"]) == ("CANCELLED", "")
