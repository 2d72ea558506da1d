"""Bad input to the API is a 4xx in the API's error shape (a stable code, a sentence naming the problem),
never a 500, an HTML page or a bare 400, and nothing is stored for it."""

import json
from decimal import Decimal

import pytest
from django.conf import settings

from audit.models import AuditEvent
from tests.conftest import api_for
from tests.factories import OrderBody
from tests.trading.conftest import instrument_make, settle
from tests.trading.test_websockets_and_feed import run, session_cookie, socket
from trading.models import ApprovalRequest, Order, OutboxEntry, TradingAccount
from trading.orders.approvals import request_open

D = Decimal
pytestmark = pytest.mark.django_db


def assert_invalid(response, field: str, *, status: int = 400, code: str = "invalid") -> dict:
    """The API's error shape, naming `field`; returns the error."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"].startswith(f"{field}: ")
    assert field in error.get("details", {field: None})
    return error


def order_records() -> tuple[int, int]:
    """Orders, and order events in the audit trail."""
    return Order.objects.count(), AuditEvent.objects.filter(object_type="order").count()


# Orders


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", 2**31),
        ("quantity", 2**63),
        ("quantity", 0),
        ("disclosed_quantity", 2**31),
        ("disclosed_quantity", -1),
        ("price", "1000000000000.00"),
        ("price", "-2450.00"),
        ("price", "2450.005"),
        ("trigger_price", "1000000000000"),
        ("instrument_token", 2**63),
        ("account", 2**63),
        ("strategy", 0),
    ],
)
def test_an_order_with_a_number_out_of_range_is_a_400_naming_it_and_nothing_is_stored(
    account, alice, reliance, field, value
):
    response = api_for(alice).post("/api/v1/orders", OrderBody(limit=True, **{field: value}), format="json")

    assert_invalid(response, field)
    assert order_records() == (0, 0)


def test_a_disclosed_quantity_above_the_quantity_is_a_400_naming_it(account, alice, reliance):
    api = api_for(alice)

    above = api.post("/api/v1/orders", OrderBody(limit=True, disclosed_quantity=6), format="json")
    equal = api.post("/api/v1/orders", OrderBody(limit=True, disclosed_quantity=5), format="json")

    error = assert_invalid(above, "disclosed_quantity")
    assert "may not exceed the quantity (5)" in error["message"]
    assert equal.status_code == 201
    assert Order.objects.get().disclosed_quantity == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [("quantity", 2**31), ("quantity", 0), ("price", "1000000000000.00"), ("price", "-1"), ("trigger_price", "")],
)
def test_a_modification_out_of_range_is_a_400_naming_it_and_the_order_stands(account, alice, reliance, field, value):
    api = api_for(alice)
    placed = api.post("/api/v1/orders", OrderBody(limit=True), format="json").json()
    settle()

    response = api.patch(f"/api/v1/orders/{placed['id']}", {field: value}, format="json")

    assert_invalid(response, field)
    order = Order.objects.get()
    assert (order.quantity, order.price, order.modification_count) == (5, D("2450.00"), 0)
    assert not AuditEvent.objects.filter(action="order.modify").exists()


def test_a_modification_of_nothing_is_a_400_and_is_not_sent_or_counted(account, alice, reliance):
    api = api_for(alice)
    placed = api.post("/api/v1/orders", OrderBody(limit=True), format="json").json()
    settle()

    response = api.patch(f"/api/v1/orders/{placed['id']}", {}, format="json")

    error = assert_invalid(response, "non_field_errors")
    assert "name what to change: quantity, price, trigger_price, order_type" in error["message"]
    assert Order.objects.get().modification_count == 0
    assert not OutboxEntry.objects.filter(action=OutboxEntry.Action.MODIFY).exists()


def test_a_blank_field_of_a_form_is_refused_as_in_json(account, alice, reliance):
    api = api_for(alice)
    placed = api.post("/api/v1/orders", OrderBody(limit=True), format="json").json()
    settle()
    form = "application/x-www-form-urlencoded"

    modified = api.patch(f"/api/v1/orders/{placed['id']}", "price=&order_type=", content_type=form)
    placing = api.post(
        "/api/v1/orders",
        "exchange=NSE&tradingsymbol=RELIANCE&transaction_type=BUY&order_type=LIMIT&product=CNC&quantity=5&price=",
        content_type=form,
    )

    error = assert_invalid(modified, "price")
    assert set(error["details"]) == {"price", "order_type"}
    assert_invalid(placing, "price")
    order = Order.objects.get()
    assert (order.order_type, order.price, order.modification_count) == ("LIMIT", D("2450.00"), 0)


def test_a_modification_below_the_disclosed_quantity_is_a_400_naming_the_quantity(account, alice, reliance):
    api = api_for(alice)
    placed = api.post("/api/v1/orders", OrderBody(limit=True, quantity=10, disclosed_quantity=4), format="json").json()
    settle()

    below = api.patch(f"/api/v1/orders/{placed['id']}", {"quantity": 3}, format="json")
    at = api.patch(f"/api/v1/orders/{placed['id']}", {"quantity": 4}, format="json")

    error = assert_invalid(below, "quantity")
    assert "disclosed_quantity (4)" in error["message"]
    assert at.status_code == 200 and at.json()["quantity"] == 4


# Risk limits and their approval


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_order_quantity", 2**31),
        ("max_order_quantity", 10_000_001),
        ("max_orders_per_second", 2**31),
        ("max_orders_per_second", 1001),
        ("max_order_value", "1000000000000.01"),
        ("max_order_value", "1e20"),
        ("max_position_value", "99999999999999999.99"),
        ("max_gross_exposure", "10000000000001"),
        ("daily_loss_limit", "1000000000001"),
        ("price_band_percent", "100.01"),
        ("price_band_percent", "10000"),
        ("mis_leverage", "50.01"),
        ("mis_leverage", "1000"),
        ("mis_leverage", "0.50"),
    ],
)
def test_a_risk_limit_past_its_ceiling_is_a_400_naming_it_and_nothing_is_asked_or_changed(account, alice, field, value):
    before = TradingAccount.objects.values().get(pk=account.pk)

    response = api_for(alice).patch(f"/api/v1/accounts/{account.pk}/limits", {field: value}, format="json")

    assert_invalid(response, field)
    assert not ApprovalRequest.objects.exists()
    assert TradingAccount.objects.values().get(pk=account.pk) == before


def test_limits_raised_to_their_ceilings_are_approved_and_applied(account, alice, dave):
    ceilings = {
        "max_order_quantity": 10_000_000,
        "max_order_value": "1000000000000.00",
        "price_band_percent": "100.00",
        "max_position_value": "1000000000000.00",
        "max_gross_exposure": "10000000000000.00",
        "mis_leverage": "50.00",
        "daily_loss_limit": "1000000000000.00",
        "max_orders_per_second": 1000,
    }

    asked = api_for(alice).patch(f"/api/v1/accounts/{account.pk}/limits", ceilings, format="json")
    approved = api_for(dave).post(f"/api/v1/approvals/{asked.json()['approval']['id']}/approve", {}, format="json")

    assert asked.status_code == 202
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    shown = api_for(alice).get(f"/api/v1/accounts/{account.pk}").json()
    assert {name: shown[name] for name in ceilings} == ceilings


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"max_order_quantity": "2147483648"}, "max_order_quantity 2147483648 is past its ceiling"),
        ({"max_order_value": "1E+20"}, "max_order_value 1E+20 is past its ceiling"),
        ({"mis_leverage": "lots"}, "mis_leverage 'lots' is not a valid value"),
        ({"daily_loss_action": "panic"}, "daily_loss_action 'panic' is neither reducing nor halted"),
    ],
)
def test_approving_a_raise_that_cannot_be_stored_is_a_409_and_it_can_still_be_rejected(
    account, alice, dave, changes, named
):
    # given a request stored before there were ceilings
    approval = request_open(
        account=account, kind=ApprovalRequest.Kind.LIMITS_RAISE, changes=changes, reason="", requested_by=alice
    )
    before = TradingAccount.objects.values().get(pk=account.pk)

    # when dave approves it, then rejects it
    approved = api_for(dave).post(f"/api/v1/approvals/{approval.pk}/approve", {}, format="json")
    rejected = api_for(dave).post(f"/api/v1/approvals/{approval.pk}/reject", {"note": "ask again"}, format="json")

    # then the approval is refused with the reason, the account is as it was, and the rejection goes through
    assert approved.status_code == 409
    error = approved.json()["error"]
    assert error["code"] == "approval_unappliable"
    assert named in error["message"] and error["message"].endswith("reject it and ask again")
    assert TradingAccount.objects.values().get(pk=account.pk) == before
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


# Request bodies Django refuses


def multipart(fields: int) -> bytes:
    parts = [f'--xyz\r\nContent-Disposition: form-data; name="f{n}"\r\n\r\n1\r\n'.encode() for n in range(fields)]
    return b"".join(parts) + b"--xyz--\r\n"


@pytest.mark.parametrize(
    ("content_type", "body", "code"),
    [
        ("multipart/form-data", b"quantity=5", "parse_error"),
        ('multipart/form-data; boundary="a b\x01"', b"--a b\x01\r\n", "parse_error"),
        ("multipart/form-data; boundary=xyz", multipart(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1), "too_many_fields"),
        (
            "application/x-www-form-urlencoded",
            "&".join(f"f{n}=1" for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)).encode(),
            "too_many_fields",
        ),
    ],
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/orders"), ("PATCH", "/api/v1/accounts/{}/limits")])
def test_a_body_that_cannot_be_read_is_a_json_400(account, alice, reliance, content_type, body, code, method, path):
    response = api_for(alice).generic(method, path.format(account.pk), body, content_type=content_type)

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    assert order_records() == (0, 0)
    assert not ApprovalRequest.objects.exists()


@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        # the audit trail reads an order request's body before the view does
        ("POST", "/api/v1/orders", "application/json"),
        ("POST", "/api/v1/orders", "application/x-www-form-urlencoded"),
        ("PATCH", "/api/v1/accounts/{}/limits", "application/json"),
        ("POST", "/api/v1/accounts/{}/halt", "multipart/form-data; boundary=xyz"),
    ],
)
def test_a_body_past_the_upload_limit_is_a_json_413(account, alice, reliance, method, path, content_type):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    if content_type == "application/json":
        body = json.dumps(OrderBody(tag=padding, max_order_quantity=5))
    elif content_type.startswith("multipart"):
        body = f'--xyz\r\nContent-Disposition: form-data; name="reason"\r\n\r\n{padding}\r\n--xyz--\r\n'
    else:
        body = f"quantity=5&tag={padding}"

    response = api_for(alice).generic(method, path.format(account.pk), body, content_type=content_type)

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == "request_too_large"
    assert f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes" in error["message"]
    assert order_records() == (0, 0)
    account.refresh_from_db()
    assert account.status == "active" and account.max_order_quantity == 10_000


# Websockets


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("path", "frame"),
    [
        ("/ws/market/", {"text_data": "subscribe RELIANCE"}),
        ("/ws/market/", {"bytes_data": b'{"action": "subscribe", "instruments": [738561]}'}),
        ("/ws/account/", {"text_data": "{not json"}),
        ("/ws/account/", {"bytes_data": b"\x00\x01"}),
    ],
)
def test_a_frame_that_is_not_json_text_closes_the_socket_with_4400(alice, path, frame):
    cookie = session_cookie(alice)

    async def go():
        ws = socket(path, cookie)
        assert (await ws.connect())[0]
        if path == "/ws/account/":
            assert (await ws.receive_json_from(timeout=5))["type"] == "hello"
        await ws.send_to(**frame)
        error = await ws.receive_json_from(timeout=5)
        closed = await ws.receive_output(timeout=5)
        await ws.disconnect()
        return error, closed

    error, closed = run(go())

    assert error["type"] == "error" and "JSON" in error["message"]
    assert closed["type"] == "websocket.close" and closed["code"] == 4400


# Risk rejections


def test_a_price_band_rejection_names_bounds_on_the_tick_that_are_accepted(account, alice):
    # 5% either side of 1234.55 is 1172.8225 to 1296.2775: on the tick of 0.05, 1172.85 to 1296.25
    instrument_make("TCS", 2953217, "1234.55")
    api = api_for(alice)
    order = OrderBody(limit=True, tradingsymbol="TCS")

    low = api.post("/api/v1/orders", {**order, "price": "1172.80"}, format="json")
    high = api.post("/api/v1/orders", {**order, "price": "1296.30"}, format="json")
    at_low = api.post("/api/v1/orders", {**order, "price": "1172.85"}, format="json")
    at_high = api.post("/api/v1/orders", {**order, "price": "1296.25"}, format="json")

    assert low.status_code == high.status_code == 422
    assert low.json()["error"]["message"] == (
        "price_band: price 1172.80 is outside 5.00% of the last price 1234.55 (1172.85 to 1296.25)"
    )
    assert low.json()["error"]["details"] == {
        "rule": "price_band",
        "price": "1172.80",
        "last_price": "1234.55",
        "band_percent": "5.00",
        "low": "1172.85",
        "high": "1296.25",
        "tick": "0.05",
    }
    assert high.json()["error"]["details"]["price"] == "1296.30"
    assert at_low.status_code == at_high.status_code == 201


@pytest.mark.parametrize(
    ("order", "details"),
    [
        ({"quantity": 20_000}, {"rule": "max_order_quantity", "quantity": "20000", "limit": "10000"}),
        (
            {"quantity": 500, "order_type": "LIMIT", "price": "2500.00"},
            {"rule": "max_order_value", "value": "1250000.00", "limit": "1000000.00"},
        ),
        (
            {"order_type": "LIMIT", "price": "2450.03"},
            {"rule": "tick_size", "price": "2450.03", "tick": "0.05"},
        ),
    ],
)
def test_a_risk_rejection_answers_with_the_numbers_of_its_rule(account, alice, reliance, order, details):
    response = api_for(alice).post("/api/v1/orders", OrderBody(**order), format="json")

    assert response.status_code == 422
    body = response.json()
    assert body["error"]["code"] == "risk_rejected"
    assert body["error"]["details"] == details
    assert body["order"]["status"] == "REJECTED" and body["order"]["rejection_rule"] == details["rule"]


def test_a_replayed_rejection_has_the_same_numbers_and_says_it_is_a_replay(account, alice, reliance):
    api = api_for(alice)
    key = {"HTTP_IDEMPOTENCY_KEY": "too-many-1"}

    first = api.post("/api/v1/orders", OrderBody(quantity=20_000), format="json", **key)
    replay = api.post("/api/v1/orders", OrderBody(quantity=20_000), format="json", **key)

    assert first.status_code == replay.status_code == 422
    assert replay.json() == first.json() and replay.json()["error"]["details"]["limit"] == "10000"
    assert replay["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1


def test_the_schema_documents_the_rejection_body_and_the_replay_header(client, alice):
    client.force_login(alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    place = schema["paths"]["/api/v1/orders"]["post"]["responses"]
    components = schema["components"]["schemas"]

    rejection = components[place["422"]["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(rejection["properties"]) == {"error", "order"} and rejection["required"] == ["error"]
    assert "OrderOutput" in json.dumps(rejection["properties"]["order"])
    for status in ("201", "422"):
        assert place[status]["headers"]["Idempotent-Replayed"]["schema"] == {"type": "string", "enum": ["true"]}
    modify = schema["paths"]["/api/v1/orders/{order_id}"]["patch"]["responses"]
    assert "422" in modify


# Lists: paging and filters


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/orders?limit=",
        "/api/v1/orders?limit=ten",
        "/api/v1/orders?limit=0",
        "/api/v1/orders?limit=501",
        "/api/v1/orders?offset=",
        "/api/v1/orders?offset=-1",
        "/api/v1/orders?offset=true",
        "/api/v1/orders?page=2",
        "/api/v1/orders?page_size=10",
        "/api/v1/orders?status=",
        "/api/v1/orders?account=",
        "/api/v1/orders?account=9223372036854775808",
        "/api/v1/orders?date_from=",
        "/api/v1/orders?date_to=",
        "/api/v1/trades?order=",
        "/api/v1/trades?account=",
        "/api/v1/trades?limit=",
        "/api/v1/instruments?offset=",
        "/api/v1/approvals?status=",
        "/api/v1/approvals?limit=-5",
        "/api/v1/positions?account=",
        "/api/v1/portfolio/summary?account=",
        "/api/v1/portfolio/pnl-daily?days=",
        "/api/v1/instruments/738561/bars?start=",
        "/api/v1/instruments/738561/bars?interval=",
        "/api/v1/quotes?instruments=",
    ],
)
def test_a_blank_or_malformed_paging_or_filter_value_is_a_400_naming_it(account, alice, reliance, url):
    parameter = url.split("?")[1].split("=")[0]

    response = api_for(alice).get(url)

    assert_invalid(response, parameter)


def test_a_blank_symbol_is_every_symbol_and_limit_and_offset_page(account, alice, reliance, infy):
    api = api_for(alice)
    for symbol in ("RELIANCE", "INFY", "RELIANCE"):
        api.post("/api/v1/orders", OrderBody(tradingsymbol=symbol), format="json")

    blank = api.get("/api/v1/orders", {"symbol": ""}).json()
    page = api.get("/api/v1/orders", {"limit": 2, "offset": 1}).json()
    past_the_end = api.get("/api/v1/orders", {"limit": 2, "offset": 10}).json()

    assert blank["count"] == 3
    assert (page["count"], len(page["results"]), page["next"]) == (3, 2, None)
    assert past_the_end["count"] == 3 and past_the_end["results"] == []


def test_bars_ending_in_the_first_year_are_an_empty_answer(alice, reliance):
    response = api_for(alice).get("/api/v1/instruments/738561/bars", {"end": "0001-01-01T12:00:00Z"})

    assert response.status_code == 200, response.content
    assert response.json() == []
