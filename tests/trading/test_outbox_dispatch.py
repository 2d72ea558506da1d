"""OUTBOX_DISPATCH=redis: orders reach the broker through dispatcher processes reading a Redis list,
one at a time per entry however many dispatchers run; what a stopped dispatcher leaves waits for the
next, and an id lost with Redis is sent by the sweep."""

import uuid

import pytest
from django.db import connection

from tests.conftest import api_for
from tests.factories import OrderBody
from tests.threads import wait_for
from trading.brokers.dispatch import outbox_sweep
from trading.models import Order, PaperExchangeOrder
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
