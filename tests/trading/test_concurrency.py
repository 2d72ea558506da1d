"""Concurrent clients and crashed workers: limits hold, keys dedupe, accepted orders reach the broker once."""

import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import OrderBody
from tests.threads import run_threads, wait_for
from tests.trading.conftest import settle
from trading.brokers.dispatch import outbox_sweep
from trading.brokers.paper import PaperExchange
from trading.models import Order, OutboxEntry, PaperExchangeOrder, Position, Trade
from trading.orders.accounts import account_limits_set
from trading.orders.services import order_cancel
from tradingsite.celery import app as celery_app
from tradingsite.embedded import database_url_of
from tradingsite.tokens import api_token_create

D = Decimal


@pytest.mark.django_db(transaction=True)
def test_64_concurrent_orders_never_take_the_position_over_its_limit(account, place, reliance):
    # given a limit of 500,000 (200 shares at 2,500.00) and 64 orders of 10 shares each (25,000)
    account_limits_set(account=account, changes={"max_position_value": D("500000"), "max_orders_per_second": 1000})

    # when all 64 arrive at once
    results = run_threads(64, lambda n: place(reliance, quantity=10, price=D("2500.00")))

    # then exactly 20 fit, the rest are rejected by the position rule, and once all fill the limit holds
    assert all(isinstance(order, Order) for order in results), [r for r in results if not isinstance(r, Order)]
    accepted = [order for order in results if order.status != Order.Status.REJECTED]
    rejected = [order for order in results if order.status == Order.Status.REJECTED]
    assert len(accepted) == 20
    assert {order.rejection_rule for order in rejected} == {"max_position_value"}
    settle()
    position = Position.objects.get(account=account, instrument=reliance)
    assert position.quantity == 200
    assert position.quantity * D("2500.00") <= D("500000")


@pytest.mark.django_db(transaction=True)
def test_32_clients_retrying_one_idempotency_key_make_one_order_and_one_submission(account, alice, reliance):
    token = api_token_create(user=alice, name="tests", scope="trade", days=1)
    body = OrderBody(quantity=5)

    def post(n: int):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}", HTTP_IDEMPOTENCY_KEY="retry-me-0001")
        response = client.post("/api/v1/orders", body, format="json")
        return response.status_code, response.json()

    results = run_threads(32, post)

    assert all(isinstance(result, tuple) for result in results), results
    statuses = [status for status, _ in results]
    # each retry waited for the one holding the key and got its answer: one order, 32 identical answers
    assert set(statuses) == {201}
    created = {payload["id"] for status, payload in results if status == 201}
    assert len(created) == 1
    assert Order.objects.filter(account=account).count() == 1
    settle()
    settle()
    assert PaperExchangeOrder.objects.count() == 1
    assert PaperExchangeOrder.objects.get().submissions == 1
    assert Trade.objects.filter(account=account).count() == 1


def worker_start(queue: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "REDIS_URL": django_settings.REDIS_URL,
        "PAPER_SUBMIT_LATENCY_MS": "400",
        "OUTBOX_CLAIM_TIMEOUT_SECONDS": "1",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tradingsite",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_between_commit_and_broker_call_loses_nothing_and_sends_nothing_twice(
    account, place, reliance, settings
):
    # given orders committed with their outbox rows, queued for a real Celery worker on a queue of this test
    queue = f"test-outbox-{uuid.uuid4().hex[:8]}"
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    settings.OUTBOX_DISPATCH = "celery"
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 1
    workers = []
    try:
        orders = [place(reliance, order_type="MARKET", quantity=2) for _ in range(5)]
        assert all(order.status == Order.Status.RECEIVED for order in orders)

        # when the worker is killed (SIGKILL) after claiming a row, inside the 400 ms before its broker call
        workers.append(worker_start(queue))
        claimed = wait_for(
            lambda: OutboxEntry.objects.filter(claimed_at__isnull=False, sent_at__isnull=True).first(),
            timeout=60,
            what="the first worker to claim an outbox row",
        )
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(10)
        assert not PaperExchangeOrder.objects.filter(client_order_id=claimed.order.client_order_id).exists()

        # ... and a new worker starts, and the beat sweep re-drives what the dead worker held
        workers.append(worker_start(queue))
        wait_for(
            lambda: OutboxEntry.objects.filter(sent_at__isnull=True).count() == 1,
            timeout=60,
            what="the restarted worker to send the other rows",
        )
        time.sleep(1.1)  # past the claim timeout
        assert outbox_sweep(min_age_seconds=0) == 1
    finally:
        celery_app.conf.task_default_queue = previous_queue
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(10)

    # then every accepted order reached the exchange exactly once and filled exactly once
    for order in orders:
        order.refresh_from_db()
        assert order.status == Order.Status.COMPLETE
        assert PaperExchangeOrder.objects.get(client_order_id=order.client_order_id).submissions == 1
        assert order.trades.count() == 1
    assert OutboxEntry.objects.filter(sent_at__isnull=True).count() == 0
    assert Position.objects.get(account=account, instrument=reliance).quantity == 10


@pytest.mark.django_db
def test_a_resend_after_the_broker_call_but_before_marking_sent_does_not_duplicate(account, place, reliance, settings):
    # given the broker took the order but the worker died before recording that (the row is still unsent)
    settings.OUTBOX_CLAIM_TIMEOUT_SECONDS = 0
    order = place(reliance, order_type="MARKET", quantity=3)
    PaperExchange().place(order)
    assert OutboxEntry.objects.get(order=order).sent_at is None

    # when the sweep sends it again
    settle()

    # then the exchange recognised the second send: one exchange order, one fill
    exchange_order = PaperExchangeOrder.objects.get(client_order_id=order.client_order_id)
    assert exchange_order.submissions == 1  # the re-send found the order already past RECEIVED and stopped
    assert order.trades.count() == 1
    assert OutboxEntry.objects.get(order=order).sent_at is not None


@pytest.mark.django_db
def test_an_order_accepted_while_the_broker_queue_is_down_is_still_201_and_reaches_the_exchange(
    account, alice, reliance, settings, django_capture_on_commit_callbacks
):
    # given Celery's broker (Redis) unreachable at the moment the order commits
    from tradingsite.embedded import free_port

    dead_port = free_port()  # nothing listens there
    settings.OUTBOX_DISPATCH = "celery"
    previous = celery_app.conf.broker_url

    def broker_pool_renew():  # the next publish opens connections to the broker now configured
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    celery_app.conf.broker_url = f"redis://127.0.0.1:{dead_port}/0"
    broker_pool_renew()
    client = APIClient()
    client.force_authenticate(alice)
    body = OrderBody(quantity=2)
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/api/v1/orders", body, format="json")
        elapsed = time.monotonic() - started
    finally:
        celery_app.conf.broker_url = previous
        broker_pool_renew()

    # then the client is told the truth (accepted) without a long stall, and the sweep delivers it
    assert response.status_code == 201, response.content
    assert elapsed < 10
    settle()
    order = Order.objects.get(pk=response.json()["id"])
    assert order.status == Order.Status.COMPLETE


@pytest.mark.django_db
def test_an_order_cancelled_on_its_way_to_the_exchange_never_trades(account, place, reliance):
    order = place(reliance, order_type="MARKET", quantity=2)
    stale = Order.objects.get(pk=order.pk)  # what a worker loaded before the cancel landed
    order_cancel(order=order)

    PaperExchange().place(stale)  # the send goes ahead with the stale copy

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert order.trades.count() == 0
