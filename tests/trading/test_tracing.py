"""OpenTelemetry: an order is one trace from the API request through the outbox to the dispatcher
process and the broker's acceptance and fill, exported over OTLP to a collector (a fake one on loopback,
which the real exporter talks to)."""

import uuid

import pytest
import requests
from django.db import connection

from tests.conftest import RUN_PREFIX
from tests.factories import OrderBody
from tests.fakes.otlp import FakeCollector
from tests.threads import wait_for
from trading.models import OutboxEntry
from trading.orders.outbox import outbox_queue_key, outbox_redis
from tradingsite.processes import Processes, shared_env
from tradingsite.tokens import api_token_create

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.mark.django_db(transaction=True)
def test_an_order_is_one_trace_from_the_request_through_the_outbox_to_the_broker(
    settings, account, alice, reliance, tmp_path
):
    settings.OUTBOX_DISPATCH = "redis"
    key = api_token_create(user=alice, name="trace-test", scope="trade", days=1).key
    with FakeCollector() as collector:
        env = shared_env(
            f"{RUN_PREFIX}-trace-{uuid.uuid4().hex[:6]}",
            OUTBOX_DISPATCH="redis",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint,
            OTEL_BSP_SCHEDULE_DELAY="100",
        )
        processes = Processes(env, tmp_path / "logs")
        try:
            processes.web()
            processes.dispatcher()
            # the caller's own trace: the site continues it
            answer = requests.post(
                f"{processes.base_url}/api/v1/orders",
                json=OrderBody(quantity=2),
                headers={"Authorization": f"Bearer {key}", "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"},
                timeout=10,
            )
            assert answer.status_code == 201, answer.text
            order_id = answer.json()["id"]
            wait_for(lambda: collector.named("order.fill"), timeout=30, what="the fill's span", every=0.1)
        finally:
            processes.close()
            outbox_redis(settings.REDIS_URL).delete(outbox_queue_key())
            connection.close()

    (request,) = collector.named("POST /api/v1/orders")
    (place,) = collector.named("order.place")
    (send,) = collector.named("order.send")
    (accept,) = collector.named("order.accept")
    (fill,) = collector.named("order.fill")
    assert {span.trace_id for span in (request, place, send, accept, fill)} == {TRACE}
    assert request.parent_id == "00f067aa0ba902b7" and request.service == "tradingsite-web"
    assert place.parent_id == request.span_id and place.attributes["order.id"] == order_id
    assert request.attributes["http.status_code"] == 201
    # the dispatcher, another process, continues from the context stored on the outbox entry
    assert send.service == "tradingsite-dispatcher" and send.parent_id == place.span_id
    assert send.attributes["order.id"] == order_id and send.attributes["action"] == "place"
    assert accept.parent_id == send.span_id and fill.parent_id == send.span_id
    assert OutboxEntry.objects.get(order_id=order_id).trace_context.startswith(f"00-{TRACE}-{place.span_id}-")


@pytest.mark.django_db
def test_without_an_endpoint_nothing_is_traced_or_stored(settings, account, alice, reliance):
    from tests.conftest import api_for

    order_id = api_for(alice).post("/api/v1/orders", OrderBody(quantity=1), format="json").json()["id"]
    assert OutboxEntry.objects.get(order_id=order_id).trace_context == ""
