"""The REST API as an integrator meets it: token auth, idempotency, clear errors, and nobody else's objects."""

import re
from datetime import date
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from audit.models import AuditEvent
from strategies.services import backtest_run_create
from strategies.sweeps import sweep_create
from tests.conftest import api_for
from tests.factories import OrderBody
from tests.trading.conftest import settle
from trading.models import IdempotencyKey, Order
from trading.orders.accounts import account_create
from trading.orders.idempotency import request_fingerprint

D = Decimal
pytestmark = pytest.mark.django_db


def test_a_trader_places_a_market_order_with_a_token_and_sees_it_fill(account, alice, reliance):
    api = api_for(alice)

    placed = api.post("/api/v1/orders", OrderBody(), format="json")
    settle()
    order = api.get(f"/api/v1/orders/{placed.json()['id']}").json()
    positions = api.get("/api/v1/positions").json()
    trades = api.get("/api/v1/trades").json()["results"]

    assert placed.status_code == 201
    assert placed.json()["status"] == "PUT ORDER REQ RECEIVED"
    assert order["status"] == "COMPLETE" and order["average_price"] == "2500.0000"
    assert [(p["tradingsymbol"], p["quantity"]) for p in positions] == [("RELIANCE", 5)]
    assert trades[0]["total_charges"] == "14.83"
    # a symbol filter narrows the lists; a blank one is no filter
    assert api.get("/api/v1/orders", {"symbol": "reliance"}).json()["count"] == 1
    assert api.get("/api/v1/orders", {"symbol": "INFY"}).json()["count"] == 0
    assert api.get("/api/v1/trades", {"symbol": " "}).json()["count"] == 1


def test_a_rejected_order_answers_422_naming_the_rule_and_is_listed(account, alice, reliance):
    api = api_for(alice)

    response = api.post("/api/v1/orders", OrderBody(order_type="LIMIT", price="3000.00"), format="json")

    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "risk_rejected"
    assert body["error"]["details"]["rule"] == "price_band"
    assert body["error"]["message"].startswith("price_band: price 3000.00 is outside 5.00%")
    listed = api.get("/api/v1/orders", {"status": "REJECTED"}).json()["results"]
    assert [o["id"] for o in listed] == [body["order"]["id"]]


def test_orders_list_by_account_shows_only_that_accounts_orders(account, alice, reliance):
    api = api_for(alice)
    second = account_create(owner=alice, name="alice-second", cash=D("1000000"), created_by=alice)
    first_order = api.post("/api/v1/orders", OrderBody(account=account.pk), format="json").json()
    api.post("/api/v1/orders", OrderBody(account=second.pk), format="json")

    listed = api.get("/api/v1/orders", {"account": account.pk})

    assert listed.status_code == 200
    assert [o["id"] for o in listed.json()["results"]] == [first_order["id"]]


def test_malformed_input_gets_a_400_that_names_each_field(account, alice, reliance):
    response = api_for(alice).post("/api/v1/orders", OrderBody(quantity=0, order_type="STOP"), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "quantity" in error["message"] and "order_type" in error["message"]


def test_an_unknown_instrument_is_a_404_that_says_so(account, alice, reliance):
    response = api_for(alice).post("/api/v1/orders", OrderBody(tradingsymbol="NOSUCH"), format="json")

    assert response.status_code == 404
    assert response.json()["error"] == {"code": "instrument_not_found", "message": "no instrument NSE:NOSUCH"}


def test_idempotency_replays_the_first_response_and_refuses_a_different_body(account, alice, reliance):
    api = api_for(alice)
    key = {"HTTP_IDEMPOTENCY_KEY": "order-2025-0001"}

    first = api.post("/api/v1/orders", OrderBody(), format="json", **key)
    replay = api.post("/api/v1/orders", OrderBody(), format="json", **key)
    different = api.post("/api/v1/orders", OrderBody(quantity=6), format="json", **key)

    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert different.status_code == 422
    assert different.json()["error"]["code"] == "idempotency_key_reused"
    assert Order.objects.filter(account=account).count() == 1


def test_idempotency_answers_409_for_a_key_claimed_without_an_answer_until_it_is_stale(account, alice, reliance):
    # a key row committed with no answer: left by a request of an earlier version that died mid-flight
    IdempotencyKey.objects.create(account=account, key="in-flight-1", request_hash=request_fingerprint(OrderBody()))

    response = api_for(alice).post("/api/v1/orders", OrderBody(), format="json", HTTP_IDEMPOTENCY_KEY="in-flight-1")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_flight"
    assert not Order.objects.exists()


def test_the_same_key_in_another_account_is_another_request(account, alice, reliance):
    second = account_create(owner=alice, name="alice-second", cash=D("1000000"))
    api = api_for(alice)

    one = api.post("/api/v1/orders", OrderBody(account=account.pk), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    two = api.post("/api/v1/orders", OrderBody(account=second.pk), format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert one.status_code == two.status_code == 201
    assert one.json()["id"] != two.json()["id"]


def test_modify_and_cancel_a_resting_order(account, alice, reliance):
    api = api_for(alice)
    placed = api.post("/api/v1/orders", OrderBody(order_type="LIMIT", price="2450.00"), format="json").json()
    settle()

    modified = api.patch(f"/api/v1/orders/{placed['id']}", {"price": "2455.00", "quantity": 7}, format="json")
    cancelled = api.delete(f"/api/v1/orders/{placed['id']}")
    again = api.delete(f"/api/v1/orders/{placed['id']}")

    assert modified.status_code == 200
    assert (modified.json()["price"], modified.json()["quantity"]) == ("2455.00", 7)
    assert cancelled.json()["status"] == "CANCELLED" and cancelled.json()["cancelled_quantity"] == 7
    assert again.status_code == 409
    assert "can no longer be cancelled" in again.json()["error"]["message"]


def test_compliance_can_read_but_not_place_orders(carol, reliance):
    response = api_for(carol).post("/api/v1/orders", OrderBody(), format="json")

    assert response.status_code == 403
    assert "trading.add_order" in response.json()["error"]["message"]


def test_unauthenticated_requests_are_refused(client):
    assert APIClient().get("/api/v1/orders").status_code in (401, 403)


def test_kill_switch_over_the_api_and_resume_only_with_a_second_persons_approval(account, alice, dave, reliance):
    # given alice halts her account with the kill switch
    api = api_for(alice)
    api.post("/api/v1/orders", OrderBody(order_type="LIMIT", price="2450.00"), format="json")
    settle()
    halted = api.post(f"/api/v1/accounts/{account.pk}/halt", {"reason": "stop now"}, format="json")
    open_orders = api.get("/api/v1/orders", {"status": "OPEN"}).json()["results"]

    # when she asks to resume, and tries to approve her own request
    asked = api.post(f"/api/v1/accounts/{account.pk}/resume", {"reason": "checked the algo"}, format="json")
    approval_id = asked.json()["approval"]["id"]
    self_approved = api.post(f"/api/v1/approvals/{approval_id}/approve", {}, format="json")
    still = api.get(f"/api/v1/accounts/{account.pk}").json()["status"]
    # then dave (ops) approves it
    approved = api_for(dave).post(f"/api/v1/approvals/{approval_id}/approve", {"note": "ok"}, format="json")

    assert halted.json()["status"] == "halted" and halted.json()["status_reason"] == "stop now"
    assert open_orders == []
    assert asked.status_code == 202 and asked.json()["approval"]["status"] == "pending"
    assert self_approved.status_code == 403 and "ops or admin" in self_approved.json()["error"]["message"]
    assert still == "halted"
    assert approved.status_code == 200 and approved.json()["decided_by"] == "dave"
    assert api.get(f"/api/v1/accounts/{account.pk}").json()["status"] == "active"
    recorded = AuditEvent.objects.filter(object_type="approval", object_id=str(approval_id)).order_by("id")
    assert [(event.action, event.actor) for event in recorded] == [
        ("approval.request", "alice"),
        ("approval.approved", "dave"),
    ]


# Path ids of shared reference data, which every user may read: market data of an instrument, and the RL
# registry's agents (one registry for the site; promoting one onto an account is the ops role's).
PUBLIC_IDS = {"instrument_token", "agent"}


def schema_operations_with_ids(api) -> list[tuple[str, str]]:
    """Every operation whose path names a user-owned object by id."""
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    return [
        (method, path)
        for path, operations in schema["paths"].items()
        if set(re.findall(r"\{(\w+)\}", path)) - PUBLIC_IDS
        for method in operations
        if method in ("get", "post", "patch", "put", "delete")
    ]


def test_another_users_ids_get_404_on_every_endpoint_that_takes_an_id(account, alice, bob, reliance):
    # given bob's account and order
    bobs_account = account_create(owner=bob, name="bob-paper", cash=D("1000000"))
    bobs_api = api_for(bob)
    bobs_order = bobs_api.post("/api/v1/orders", OrderBody(order_type="LIMIT", price="2450.00"), format="json")
    bobs_api.post(f"/api/v1/accounts/{bobs_account.pk}/halt", {}, format="json")
    bobs_approval = bobs_api.post(f"/api/v1/accounts/{bobs_account.pk}/resume", {}, format="json").json()["approval"]
    bobs_run = backtest_run_create(
        strategy="breakout", instruments=["NSE:RELIANCE"], start=date(2024, 1, 1), end=date(2024, 2, 1), created_by=bob
    )
    bobs_sweep = sweep_create(
        strategy="breakout", grid={"entry": [10]}, instruments=["NSE:RELIANCE"], start=date(2024, 1, 1),
        end=date(2024, 3, 1), folds=1, created_by=bob,
    )  # fmt: skip
    ids = {
        "order_id": bobs_order.json()["id"],
        "account_id": bobs_account.pk,
        "approval_id": bobs_approval["id"],
        "run_id": bobs_run.pk,
        "sweep_id": bobs_sweep.pk,
    }
    alices_api = api_for(alice)

    # when alice uses bob's ids on every operation in the schema that takes one
    operations = schema_operations_with_ids(alices_api)
    assert len(operations) >= 10
    answers = {}
    for method, path in operations:
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        answers[f"{method.upper()} {path}"] = getattr(alices_api, method)(url, {}, format="json").status_code

    # then each is a 404, and bob's objects are untouched
    assert answers == dict.fromkeys(answers, 404)
    assert alices_api.get("/api/v1/positions", {"account": bobs_account.pk}).status_code == 404
    assert alices_api.get("/api/v1/portfolio/summary", {"account": bobs_account.pk}).status_code == 404
    assert alices_api.get("/api/v1/portfolio/ledgers", {"account": bobs_account.pk}).status_code == 404
    assert alices_api.post("/api/v1/orders", OrderBody(account=bobs_account.pk), format="json").status_code == 404
    assert bobs_api.get(f"/api/v1/orders/{ids['order_id']}").json()["status"] == "CANCELLED"
    assert bobs_api.get(f"/api/v1/approvals/{ids['approval_id']}").json()["status"] == "pending"
    assert bobs_api.get(f"/api/v1/accounts/{bobs_account.pk}").json()["status"] == "halted"


def test_portfolio_summary_reports_cash_pnl_and_performance(account, alice, reliance):
    api = api_for(alice)
    api.post("/api/v1/orders", OrderBody(), format="json")
    settle()

    summary = api.get("/api/v1/portfolio/summary").json()

    assert summary["day_pnl"] == {"realised": "0.00", "unrealised": "0.00", "charges": "14.83", "total": "-14.83"}
    assert summary["holdings"] == [{"tradingsymbol": "RELIANCE", "quantity": 5, "average_price": "2500.0000"}]
    assert D(summary["cash"]) == D("10000000") - D("12500") - D("14.83")
    assert summary["performance"]["fill_rate"] == "1.0000"


def test_the_openapi_schema_and_docs_are_served_without_outside_assets(client, alice):
    client.force_login(alice)

    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/").content.decode()

    assert schema.status_code == 200
    assert "/api/v1/orders" in schema.content.decode()
    assert "cdn." not in docs and "/static/drf_spectacular_sidecar/" in docs


def test_the_openapi_schema_is_valid_and_generates_without_warnings(tmp_path):
    from django.core.management import call_command

    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    assert "/api/v1/portfolio/pnl-daily" in out.read_text()


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/positions?account=abc",
        "/api/v1/portfolio/summary?account=abc",
        "/api/v1/portfolio/pnl-daily?account=abc",
        "/api/v1/portfolio/pnl-daily?days=0",
        "/api/v1/trades?account=abc",
        "/api/v1/trades?order=-1",
        "/api/v1/orders?status=FILLED",
        "/api/v1/orders?date_from=yesterday",
    ],
)
def test_a_malformed_query_parameter_is_a_400_that_names_it(account, alice, url):
    parameter = url.split("?")[1].split("=")[0]

    response = api_for(alice).get(url)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert parameter in response.json()["error"]["message"]
