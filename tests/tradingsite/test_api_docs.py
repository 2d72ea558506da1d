"""The API docs an integrator reads: operations tagged by area, each with a summary, real examples for
the order fields instead of strings made from patterns, and Redoc allowed to start its web worker."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_schema_has_tags_by_area_summaries_and_real_examples(client, alice):
    client.force_login(alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operations = [op for ops in schema["paths"].values() for method, op in ops.items() if isinstance(op, dict)]
    tags = {tag for op in operations for tag in op.get("tags", [])}
    assert {"orders", "accounts", "backtests", "approvals", "rl"} <= tags and "v1" not in tags
    assert all(op.get("summary") for op in operations)
    placing = schema["paths"]["/api/v1/orders"]["post"]
    assert placing["summary"] and len(placing["summary"]) <= 101
    body = placing["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    fields = schema["components"]["schemas"][body]["properties"]
    assert (fields["exchange"]["example"], fields["tradingsymbol"]["example"], fields["quantity"]["example"]) == (
        "NSE",
        "INFY",
        10,
    )


def test_redoc_may_start_its_web_worker_under_the_content_security_policy(client, alice):
    client.force_login(alice)
    policy = client.get("/api/redoc/")["Content-Security-Policy"]
    assert "worker-src 'self' blob:" in policy
    assert "script-src 'self' 'nonce-" in policy  # scripts stay locked down
