"""The site's metrics as Prometheus scrapes them: an order placed through the web process and filled by a
dispatcher process shows on either process's metrics port (their counts add up across processes), and
/metrics answers only with the token, or not at all on the public port where no token is set."""

import uuid

import pytest
import requests
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import METRICS_TOKEN, RUN_PREFIX
from tests.factories import OrderBody
from tests.threads import wait_for
from trading.models import Order
from trading.orders.outbox import outbox_queue_key, outbox_redis
from tradingsite.embedded import free_port
from tradingsite.processes import Processes, shared_env
from tradingsite.tokens import api_token_create


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(port: int, token: str | None = METRICS_TOKEN) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(f"http://127.0.0.1:{port}/metrics", headers=headers, timeout=10)


@pytest.mark.django_db(transaction=True)
def test_an_order_placed_on_the_web_and_filled_by_a_dispatcher_shows_on_a_scrape(
    settings, account, alice, reliance, tmp_path
):
    settings.OUTBOX_DISPATCH = "redis"
    key = api_token_create(user=alice, name="metrics-test", scope="trade", days=1).key
    prefix = f"{RUN_PREFIX}-metrics-{uuid.uuid4().hex[:6]}"
    env = shared_env(
        prefix, OUTBOX_DISPATCH="redis", METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom")
    )
    web_port, dispatcher_port = free_port(), free_port()
    processes = Processes(env, tmp_path / "logs")
    try:
        processes.web(METRICS_PORT=str(web_port))
        processes.dispatcher(METRICS_PORT=str(dispatcher_port))
        answer = requests.post(
            f"{processes.base_url}/api/v1/orders",
            json=OrderBody(quantity=3, order_type="MARKET"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        order_id = answer.json()["id"]
        wait_for(lambda: Order.objects.filter(pk=order_id, status="COMPLETE").exists(), timeout=30, what="the fill")
        rejected = requests.post(
            f"{processes.base_url}/api/v1/orders",
            json=OrderBody(quantity=10_000_000, order_type="MARKET"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        assert rejected.status_code == 422

        # the web counted the placements, the dispatcher the acceptance and the fill: one scrape has all
        for port in (web_port, dispatcher_port):
            seen = samples(scrape(port).text)
            assert seen[("trading_orders_placed_total", (("outcome", "accepted"), ("source", "person")))] == 1
            assert seen[("trading_orders_placed_total", (("outcome", "rejected"), ("source", "person")))] == 1
            rule = Order.objects.get(status="REJECTED").rejection_rule
            assert seen[("trading_order_rejections_total", (("rule", rule),))] == 1
            assert seen[("trading_fills_total", (("product", "CNC"),))] == 1
            assert seen[("trading_order_broker_latency_seconds_count", (("broker", "paper"),))] == 1
            assert seen[("trading_orders", (("status", "COMPLETE"),))] == 1  # read from the database
            assert seen[("trading_outbox_depth", ())] == 0
            assert ("tradingsite_django_http_responses_total_by_status_total", (("status", "201"),)) in seen

        # the metrics port wants the token; the public port serves /metrics only with it
        assert scrape(web_port, token=None).status_code == 401
        assert scrape(web_port, token="wrong").status_code == 401
        public = f"{processes.base_url}/metrics"
        assert requests.get(public, timeout=10).status_code == 401
        assert requests.get(public, headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).status_code == 200
    finally:
        processes.close()
        outbox_redis(settings.REDIS_URL).delete(outbox_queue_key())
        connection.close()


@pytest.mark.django_db
def test_without_a_token_the_public_port_serves_no_metrics(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
