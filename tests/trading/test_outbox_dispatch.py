"""OUTBOX_DISPATCH=redis: orders reach the broker through dispatcher processes reading a Redis list,
one at a time per entry however many dispatchers run; what a stopped dispatcher leaves waits for the
next, and an id lost with Redis is sent by the sweep. A batch sends an id handed over twice once, and
leaves an entry whose claim another worker took over to that worker."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import api_for
from tests.factories import OrderBody
from tests.threads import wait_for
from trading.brokers.dispatch import ClaimLost, entry_send, outbox_claim, outbox_send_many, outbox_sweep
from trading.models import Order, OutboxEntry, PaperExchangeOrder
from trading.orders.outbox import outbox_queue_key, outbox_redis
from tradingsite.processes import Processes, shared_env


def status_of(order_id: int) -> str:
    return Order.objects.values_list("status", flat=True).get(pk=order_id)


@pytest.mark.django_db(transaction=True)
def test_orders_reach_the_paper_exchange_through_redis_dispatchers(settings, account, alice, reliance, tmp_path):
    settings.OUTBOX_DISPATCH = "redis"
    api = api_for(alice)
    queue = outbox_redis(settings.REDIS_URL)
    processes = Processes(shared_env(f"test-dispatch-{uuid.uuid4().hex[:6]}"), tmp_path / "logs")
    try:
        # two dispatchers read the list; each order is sent once
        processes.dispatcher()
        second = Processes(processes.env, tmp_path / "logs2")
        second.dispatcher()
        placed = [api.post("/api/v1/orders", OrderBody(quantity=1), format="json").json()["id"] for _ in range(6)]
        for order_id in placed:
            wait_for(lambda order_id=order_id: status_of(order_id) == "COMPLETE", timeout=30, what="the fill")
        assert PaperExchangeOrder.objects.count() == 6
        assert set(PaperExchangeOrder.objects.values_list("submissions", flat=True)) == {1}

        # with no dispatcher running, an order waits on the list and the next dispatcher to start sends it
        processes.stop("dispatcher")
        second.stop("dispatcher")
        waiting = api.post("/api/v1/orders", OrderBody(quantity=1), format="json").json()["id"]
        assert queue.llen(outbox_queue_key()) == 1 and status_of(waiting) == Order.Status.RECEIVED
        processes.dispatcher()
        wait_for(lambda: status_of(waiting) == "COMPLETE", timeout=30, what="the waiting order's fill")
        processes.stop("dispatcher")

        # an id lost with Redis: the sweep sends the entry
        lost = api.post("/api/v1/orders", OrderBody(quantity=1), format="json").json()["id"]
        queue.delete(outbox_queue_key())
        assert outbox_sweep(min_age_seconds=0) == 1
        assert status_of(lost) == "COMPLETE"
    finally:
        processes.close()
        second.close()
        queue.delete(outbox_queue_key())
        connection.close()


@pytest.mark.django_db
def test_an_id_handed_over_twice_in_one_batch_is_sent_once(settings, account, alice, reliance):
    settings.OUTBOX_DISPATCH = "sweep"  # nothing hands the entry over but this test
    order_id = api_for(alice).post("/api/v1/orders", OrderBody(quantity=1), format="json").json()["id"]
    entry = OutboxEntry.objects.get(order_id=order_id)

    sent = outbox_send_many([entry.pk, entry.pk])

    assert sent == 1 and status_of(order_id) == "COMPLETE"
    assert PaperExchangeOrder.objects.get().submissions == 1


@pytest.mark.django_db
def test_an_entry_whose_claim_was_taken_over_while_it_waited_is_left_to_its_new_owner(
    settings, account, alice, reliance
):
    settings.OUTBOX_DISPATCH = "sweep"
    order_id = api_for(alice).post("/api/v1/orders", OrderBody(quantity=1), format="json").json()["id"]
    entry = OutboxEntry.objects.get(order_id=order_id)
    order = Order.objects.select_related("account", "instrument").get(pk=order_id)
    # The first worker claimed it so long ago that its claim went stale, and a second worker took it.
    first = timezone.now() - timedelta(seconds=settings.OUTBOX_CLAIM_TIMEOUT_SECONDS + 1)
    assert entry.pk in outbox_claim([entry.pk], first)
    second = timezone.now()
    assert entry.pk in outbox_claim([entry.pk], second)

    with pytest.raises(ClaimLost):
        entry_send(entry.pk, order, "place", first)

    entry.refresh_from_db()
    assert entry.sent_at is None and entry.claimed_at == second  # the second worker's claim stands
    assert status_of(order_id) == Order.Status.RECEIVED and not PaperExchangeOrder.objects.exists()
