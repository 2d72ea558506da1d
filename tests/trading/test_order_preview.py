"""The order preview a trader sees before placing: value, charges, margin, the funds left, whether to
confirm, and the risk rule the order would fail; placing nothing, storing nothing, auditing nothing."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from tests.conftest import api_for
from tests.factories import OrderBody
from tests.trading.conftest import settle
from trading.market.prices import price_record
from trading.models import Order, OutboxEntry, TradingAccount
from trading.orders.accounts import account_create

D = Decimal
pytestmark = pytest.mark.django_db
PREVIEW = "/api/v1/orders/preview"


def records() -> tuple[int, int, int]:
    """Orders, outbox entries, and audit events other than the record of each API request."""
    return Order.objects.count(), OutboxEntry.objects.count(), AuditEvent.objects.exclude(object_type="api").count()


def test_a_limit_buy_for_delivery_shows_its_value_charges_and_the_cash_it_blocks(account, alice, reliance):
    # given alice's account with ₹1 crore and nothing working
    api = api_for(alice)
    before = records()

    # when she previews buying 100 RELIANCE at 2,500
    response = api.post(PREVIEW, OrderBody(order_type="LIMIT", price="2500.00", quantity=100), format="json")

    # then she sees the contract note's charges (as a fill at that price would have them) and the cash it blocks
    assert response.status_code == 200, response.content
    assert response.json() == {
        "value": "250000.00",
        # STT 250.00 + NSE 7.43 + SEBI 0.25 + stamp 37.50 + GST 1.38 (test_charges_and_pnl's contract note)
        "charges": "296.56",
        "margin": "250000.00",
        "funds_available": "10000000.00",
        "funds_after": "9750000.00",
        "confirm": True,
        "confirm_above": "200000.00",
        "problems": [],
    }
    # and nothing was placed, stored, sent or recorded
    assert records() == before


def test_funds_already_blocked_by_working_orders_are_not_available(account, alice, reliance, place):
    place(reliance, quantity=10, price=D("2400.00"))  # rests below the market: blocks 24,000
    settle()

    figures = api_for(alice).post(PREVIEW, OrderBody(quantity=2, product="MIS"), format="json").json()

    # an intraday order blocks its value over the leverage: a fifth of 2 x 2,500
    assert (figures["funds_available"], figures["margin"], figures["funds_after"]) == (
        "9976000.00",
        "1000.00",
        "9975000.00",
    )


def test_a_market_order_is_valued_at_the_last_price(account, alice, reliance):
    price_record(instrument=reliance, price=D("2512.35"))

    figures = api_for(alice).post(PREVIEW, OrderBody(order_type="MARKET", quantity=4), format="json").json()

    assert (figures["value"], figures["margin"], figures["problems"]) == ("10049.40", "10049.40", [])


def test_the_confirmation_is_asked_from_the_configured_value_up(account, alice, reliance, settings):
    settings.ORDER_CONFIRM_VALUE = D("25000")
    api = api_for(alice)

    at = api.post(PREVIEW, OrderBody(order_type="LIMIT", price="2500.00", quantity=10), format="json").json()
    below = api.post(PREVIEW, OrderBody(order_type="LIMIT", price="2499.95", quantity=10), format="json").json()

    assert (at["value"], at["confirm"], at["confirm_above"]) == ("25000.00", True, "25000.00")
    assert (below["value"], below["confirm"]) == ("24999.50", False)


def test_selling_held_shares_blocks_nothing_and_selling_more_names_the_holdings_rule(account, alice, reliance, place):
    place(reliance, order_type="MARKET", quantity=5)
    settle()
    api = api_for(alice)

    held = api.post(PREVIEW, OrderBody(transaction_type="SELL", quantity=5), format="json").json()
    more = api.post(PREVIEW, OrderBody(transaction_type="SELL", quantity=6), format="json").json()

    assert (held["margin"], held["funds_after"] == held["funds_available"], held["problems"]) == ("0.00", True, [])
    assert more["problems"] == ["holdings: selling 6 NSE:RELIANCE for delivery needs holdings; 5 available"]


def test_an_order_the_cash_does_not_cover_lists_the_funds_problem_and_stores_no_rejection(bob, reliance):
    # given bob's account with ₹10,000
    account_create(owner=bob, name="bob-paper", cash=D("10000"), created_by=bob)
    api = api_for(bob)
    before = records()

    # when he previews a ₹25,000 buy
    figures = api.post(PREVIEW, OrderBody(order_type="LIMIT", price="2500.00", quantity=10), format="json")

    # then the preview says what placing it would answer, and no rejected order is stored for it
    assert figures.status_code == 200
    assert figures.json()["problems"] == ["funds: order needs 25,000.00 of cash; 10,000.00 is available"]
    assert (figures.json()["funds_available"], figures.json()["funds_after"]) == ("10000.00", "-15000.00")
    assert records() == before
    placed = api.post("/api/v1/orders", OrderBody(order_type="LIMIT", price="2500.00", quantity=10), format="json")
    assert placed.json()["error"]["message"] == figures.json()["problems"][0]


def test_a_halted_account_and_a_price_off_the_tick_are_problems_with_the_rules_own_words(account, alice, reliance):
    api = api_for(alice)
    off_tick = api.post(PREVIEW, OrderBody(order_type="LIMIT", price="2500.01"), format="json").json()
    TradingAccount.objects.filter(pk=account.pk).update(status=TradingAccount.Status.HALTED, status_reason="ops")

    halted = api.post(PREVIEW, OrderBody(), format="json").json()

    assert off_tick["problems"] == ["tick_size: price 2500.01 is not a multiple of the tick size 0.05"]
    assert halted["problems"] == ["account_halted: account alice-paper is halted (ops); only cancels are accepted"]


def test_past_the_daily_loss_limit_the_preview_says_so_and_leaves_the_account_as_it_is(account, alice, reliance):
    # given a loss limit today's result (0.00) already reaches
    TradingAccount.objects.filter(pk=account.pk).update(daily_loss_limit=D("0"), daily_loss_action="halted")
    api = api_for(alice)
    before = records()

    figures = api.post(PREVIEW, OrderBody(), format="json").json()

    # then placing would halt the account first and be refused; the preview halts nothing
    assert figures["problems"] == [
        "account_halted: account alice-paper is halted (daily loss 0.00 reached the limit of 0.00); "
        "only cancels are accepted"
    ]
    assert TradingAccount.objects.get(pk=account.pk).status == TradingAccount.Status.ACTIVE
    assert records() == before


def test_a_market_order_without_a_last_price_has_no_figures_and_says_why(account, alice, reliance):
    from django.core.cache import cache

    from trading.market.prices import price_key

    reliance.__class__.objects.filter(pk=reliance.pk).update(last_price=None)
    cache.delete(price_key(reliance.instrument_token))

    figures = api_for(alice).post(PREVIEW, OrderBody(), format="json").json()

    assert (figures["value"], figures["charges"], figures["margin"], figures["funds_after"]) == (None,) * 4
    assert figures["funds_available"] == "10000000.00" and figures["confirm"] is False
    assert figures["problems"] == ["price_unavailable: no last price for NSE:RELIANCE to value a MARKET order"]


def test_bad_input_is_the_placements_400_naming_the_field_and_nothing_is_stored(account, alice, reliance):
    api = api_for(alice)
    before = records()

    preview = api.post(PREVIEW, OrderBody(quantity=0), format="json")
    placement = api.post("/api/v1/orders", OrderBody(quantity=0), format="json")

    assert preview.status_code == placement.status_code == 400
    assert preview.json() == placement.json()
    assert (
        preview.json()["error"]["message"].startswith("quantity: ") and "quantity" in preview.json()["error"]["details"]
    )
    assert records() == before


def test_unknown_instruments_and_other_users_accounts_are_not_found_as_in_placement(account, alice, bob, reliance):
    bobs = account_create(owner=bob, name="bob-paper", cash=D("10000"), created_by=bob)
    api = api_for(alice)

    for body in (OrderBody(tradingsymbol="NOPE"), OrderBody(account=bobs.pk), OrderBody(instrument_token=5)):
        preview = api.post(PREVIEW, body, format="json")
        placement = api.post("/api/v1/orders", body, format="json")
        assert preview.status_code == placement.status_code == 404
        assert preview.json() == placement.json()


def test_only_those_who_may_place_orders_may_preview_them(carol, reliance):
    response = api_for(carol).post(PREVIEW, OrderBody(), format="json")

    assert response.status_code == 403
    assert response.json() == api_for(carol).post("/api/v1/orders", OrderBody(), format="json").json()


def test_the_preview_is_in_the_api_docs_with_the_orders(client, alice):
    client.force_login(alice)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    operation = schema["paths"]["/api/v1/orders/preview"]["post"]

    assert operation["tags"] == ["orders"]
    assert operation["summary"] == "Previews an order: its value, charges and margin, and the risk rule it would fail"
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(schema["components"]["schemas"][answer]["properties"]) == {
        "value",
        "charges",
        "margin",
        "funds_available",
        "funds_after",
        "confirm",
        "confirm_above",
        "problems",
    }
