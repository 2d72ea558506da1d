import pytest

from tests.conftest import audit_linked, metrics_scrape
from tradingsite.embedded import free_port as closed_port  # a port nothing listens on


def test_healthz_answers_without_touching_any_dependency(client, settings):
    # no database access is allowed in this test, and Redis points nowhere
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


@pytest.mark.django_db
def test_readyz_is_200_when_postgres_and_redis_answer_and_the_audit_sequencer_keeps_up(client):
    audit_linked()

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok", "audit_chain": "ok"}}


@pytest.mark.django_db
def test_readyz_is_503_naming_redis_when_redis_is_unreachable(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("redis unreachable: ConnectionError")
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_metrics_exposes_request_counters_for_prometheus(client):
    client.get("/healthz")

    assert "django_http_requests_total_by_view_transport_method_total" in metrics_scrape(client)


def test_every_response_carries_a_request_id_and_keeps_a_plain_one_from_the_caller(client):
    generated = client.get("/healthz")
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="edge-1234")
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="bad id\nwith newline")

    assert len(generated["X-Request-ID"]) == 32
    assert kept["X-Request-ID"] == "edge-1234"
    assert replaced["X-Request-ID"] != "bad id\nwith newline"


@pytest.mark.django_db
def test_the_probes_answer_a_pod_addressed_by_its_ip_and_nothing_else_does(client):
    # the kubelet and the load balancer's health check send the pod's IP as the host
    assert client.get("/healthz", HTTP_HOST="10.0.3.17:8000").status_code == 200
    assert client.get("/readyz", HTTP_HOST="10.0.3.17:8000").status_code == 200
    assert client.get("/api/v1/instruments", HTTP_HOST="10.0.3.17:8000").status_code == 400
