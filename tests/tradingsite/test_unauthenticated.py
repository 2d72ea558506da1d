"""Requests that name nobody (no credentials, or credentials that are not valid) are refused with 401,
counted on /metrics by what they carried and logged with path and client address; they are not put in
the audit trail, which keeps what people did."""

import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from audit.models import AuditEvent
from tests.conftest import bearer, metrics_scrape
from tradingsite.tokens import api_token_create

pytestmark = pytest.mark.django_db
METRIC = "tradingsite_unauthenticated_requests"


def unauthenticated_count(client, reason: str) -> float:
    """The counter for `reason` as Prometheus scrapes it from /metrics (0 before the first such refusal)."""
    text = metrics_scrape(client)
    for family in text_string_to_metric_families(text):
        if family.name == METRIC:
            for sample in family.samples:
                if sample.name == f"{METRIC}_total" and sample.labels.get("reason") == reason:
                    return sample.value
    return 0.0


@pytest.mark.parametrize(
    ("authorization", "reason", "message"),
    [
        (None, "missing", "Authentication credentials were not provided."),
        ("Basic YWxpY2U6c2VjcmV0", "malformed", "Authentication credentials were not provided."),
        ("Bearer tsk_not-a-token", "api_token", "this API token is unknown, expired or revoked"),
        ("Bearer eyJhbGciOi.provider.token", "provider_token", "Authentication credentials were not provided."),
    ],
)
def test_each_kind_of_refusal_is_counted_by_reason_and_logged_and_not_audited(
    client, caplog, authorization, reason, message
):
    api = APIClient()
    if authorization:
        api.credentials(HTTP_AUTHORIZATION=authorization)
    before = unauthenticated_count(client, reason)
    since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    with caplog.at_level(logging.WARNING, logger="audit.middleware"):
        response = api.post("/api/v1/orders", {}, format="json", REMOTE_ADDR="198.51.100.4")

    assert response.status_code == 401
    assert unauthenticated_count(client, reason) == before + 1
    assert not AuditEvent.objects.filter(id__gt=since).exists()
    assert [record.getMessage() for record in caplog.records if record.name == "audit.middleware"] == [
        f"refused without valid credentials (401, {reason}): POST '/api/v1/orders' from 198.51.100.4: {message}"
    ]


def test_a_real_users_403s_stay_on_the_record_and_a_deactivated_users_token_is_only_counted(client, alice, carol):
    reader = bearer(api_token_create(user=alice, name="reader", scope="read", days=1).key)
    compliance = bearer(api_token_create(user=carol, name="pull", scope="trade", days=1).key)
    since = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    by_scope = reader.post("/api/v1/orders", {}, format="json")
    by_role = compliance.post("/api/v1/orders", {}, format="json")
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    before = unauthenticated_count(client, "api_token")
    deactivated = reader.get("/api/v1/orders")

    assert (by_scope.status_code, by_role.status_code, deactivated.status_code) == (403, 403, 401)
    assert unauthenticated_count(client, "api_token") == before + 1
    denied = AuditEvent.objects.filter(id__gt=since, action="access.denied").order_by("id")
    assert [(event.actor, event.payload["status"], event.payload["auth"]) for event in denied] == [
        ("alice", 403, "api_token"),
        ("carol", 403, "api_token"),
    ]
    assert not AuditEvent.objects.filter(id__gt=since, payload__status=401).exists()
