"""What compliance finds in the trail about access: every API call, every refusal, every sign-in outcome
and every admin change, with who, how and how long; and password guessing bounded per account."""

import json
import logging
from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.conftest import PASSWORD
from tests.factories import OrderBody
from tests.trading.conftest import instrument_make
from tests.tradingsite.test_unauthenticated import unauthenticated_count
from trading.orders.accounts import account_create
from tradingsite.login_limits import failures_key
from tradingsite.tokens import api_token_create

pytestmark = pytest.mark.django_db


def latest(action: str) -> AuditEvent:
    return AuditEvent.objects.filter(action=action).latest("id")


def test_an_order_request_is_recorded_with_its_body_token_status_and_latency(alice):
    instrument_make("RELIANCE", 738561, "2500.00")
    account_create(owner=alice, name="alice-paper", cash=Decimal("1000000"), created_by=alice)
    token = api_token_create(user=alice, name="bot", scope="trade", days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.key}")
    body = OrderBody(quantity=3)

    response = client.post("/api/v1/orders", body, format="json", HTTP_X_REQUEST_ID="req-42")

    event = latest("api.request")
    assert response.status_code == 201
    assert (event.actor, event.actor_id, event.request_id) == ("alice", alice.pk, "req-42")
    assert event.payload["method"] == "POST" and event.payload["path"] == "/api/v1/orders"
    assert event.payload["status"] == 201 and event.payload["latency_ms"] > 0
    assert (event.payload["auth"], event.payload["token_id"]) == ("api_token", token.token.pk)
    assert json.loads(event.payload["body"]) == body
    # the order's own event is in the trail too, before the access record
    assert AuditEvent.objects.filter(action="order.place", id__lt=event.id).exists()


def test_reads_are_recorded_without_a_body(client_for, alice):
    client_for(alice).get("/api/v1/orders?status=OPEN")

    event = latest("api.request")
    assert event.payload["query"] == "status=OPEN" and event.payload["auth"] == "session"
    assert "body" not in event.payload


def test_refusals_are_recorded_as_access_denied_on_the_api_and_on_pages(client_for, alice, caplog):
    client = client_for(alice)
    since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    refused_before = unauthenticated_count(client, "missing")

    api = client.get("/api/v1/audit/events")
    page = client.get("/status/")
    with caplog.at_level(logging.WARNING, logger="audit.middleware"):
        anonymous = APIClient().get("/api/v1/orders", REMOTE_ADDR="203.0.113.7")

    assert (api.status_code, page.status_code, anonymous.status_code) == (403, 403, 401)
    # alice's refusals are on the record; the request that named nobody is counted and logged instead
    denied = list(AuditEvent.objects.filter(action="access.denied").order_by("id"))
    assert [(event.actor, event.object_type, event.payload["path"]) for event in denied] == [
        ("alice", "api", "/api/v1/audit/events"),
        ("alice", "page", "/status/"),
    ]
    assert not AuditEvent.objects.filter(id__gt=since, payload__path="/api/v1/orders").exists()
    assert unauthenticated_count(client, "missing") == refused_before + 1
    [logged] = [record.getMessage() for record in caplog.records if record.name == "audit.middleware"]
    assert logged.startswith("refused without valid credentials (401, missing): GET '/api/v1/orders'")
    assert "from 203.0.113.7" in logged


def test_an_admin_change_is_recorded(client_for, root_admin):
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    client = client_for(root_admin)

    response = client.post(
        f"/admin/trading/instrument/{reliance.pk}/change/",
        {
            "instrument_token": reliance.instrument_token,
            "exchange_token": reliance.exchange_token,
            "tradingsymbol": "RELIANCE",
            "name": "Reliance Industries",
            "exchange": "NSE",
            "segment": "NSE",
            "instrument_type": "EQ",
            "tick_size": "0.05",
            "lot_size": 1,
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    event = latest("admin.change")
    assert (event.actor, event.object_type, event.object_id) == ("admin", "instrument", str(reliance.pk))
    assert "Name" in event.payload["change"]


def test_password_guessing_is_refused_past_the_hourly_limit_even_with_the_right_password(settings, client, alice):
    settings.LOGIN_FAILURES_PER_HOUR = 3
    cache.delete_many([failures_key("alice"), failures_key("bob")])  # other tests' failed sign-ins this hour
    for _ in range(3):
        client.post("/accounts/login/", {"username": "alice", "password": "guess"})

    refused = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    other = client.post("/accounts/login/", {"username": "bob", "password": "guess"})

    assert refused.status_code == 200
    assert "Too many failed sign-ins for this account in the last hour" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert "Too many" not in other.content.decode()
    assert AuditEvent.objects.filter(action="auth.login_failed", payload__username="alice").count() >= 3
