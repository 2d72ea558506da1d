"""The paper exchange fills the way NSE would: prices, triggers, resting orders, IOC and slippage."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import OrderBody
from tests.trading.conftest import refreshed, settle
from tests.trading.test_api import api_for
from trading.brokers.paper import paper_tick
from trading.models import IdempotencyKey, Order
from trading.orders.idempotency import idempotency_keys_purge

D = Decimal
pytestmark = pytest.mark.django_db


def fills(order: Order) -> list[tuple[int, Decimal]]:
    return [(trade.quantity, trade.price) for trade in order.trades.order_by("pk")]


def test_market_orders_pay_the_slippage_rounded_to_the_tick_against_the_trader(place, reliance, settings):
    settings.PAPER_SLIPPAGE_BPS = D("10")  # 0.10% of 2500.00 = 2.50

    buy = place(reliance, order_type="MARKET", quantity=4)
    settle()
    sell = place(reliance, side="SELL", order_type="MARKET", quantity=4)  # delivery sells need the holding first
    settle()

    assert fills(refreshed(buy)) == [(4, D("2502.50"))]
    assert fills(refreshed(sell)) == [(4, D("2497.50"))]


def test_a_marketable_limit_gets_the_better_last_price_and_a_resting_one_fills_at_its_own(place, reliance):
    marketable = place(reliance, quantity=2, price=D("2510.00"))
    resting = place(reliance, quantity=2, price=D("2450.00"))
    settle()
    assert fills(refreshed(marketable)) == [(2, D("2500.00"))]
    assert refreshed(resting).status == Order.Status.OPEN

    paper_tick(instrument=reliance, price=D("2460.00"), volume=100)
    assert refreshed(resting).status == Order.Status.OPEN
    paper_tick(instrument=reliance, price=D("2449.95"), volume=100)

    assert fills(refreshed(resting)) == [(2, D("2450.00"))]
    assert resting.status == Order.Status.COMPLETE


def test_stop_loss_orders_wait_for_their_trigger_then_trade(place, reliance):
    stop_limit = place(reliance, order_type="SL", quantity=3, price=D("2525.00"), trigger_price=D("2520.00"))
    stop_market = place(reliance, side="SELL", order_type="SL-M", quantity=3, product="MIS", trigger_price=D("2480.00"))
    settle()
    assert refreshed(stop_limit).status == refreshed(stop_market).status == Order.Status.TRIGGER_PENDING

    paper_tick(instrument=reliance, price=D("2515.00"), volume=100)
    assert refreshed(stop_limit).status == Order.Status.TRIGGER_PENDING
    paper_tick(instrument=reliance, price=D("2520.00"), volume=100)
    paper_tick(instrument=reliance, price=D("2479.95"), volume=100)

    assert fills(refreshed(stop_limit)) == [(3, D("2520.00"))]  # triggered, then filled at the market
    assert fills(refreshed(stop_market)) == [(3, D("2479.95"))]


def test_ioc_fills_what_the_volume_allows_and_cancels_the_rest(place, reliance, settings):
    settings.PAPER_MAX_VOLUME_PARTICIPATION = D("0.5")
    paper_tick(instrument=reliance, price=D("2500.00"), volume=100)  # at most 50 shares now

    order = place(reliance, quantity=80, price=D("2500.00"), validity="IOC")
    settle()

    order = refreshed(order)
    assert fills(order) == [(50, D("2500.00"))]
    assert (order.status, order.cancelled_quantity) == (Order.Status.CANCELLED, 30)
    assert order.status_message == "IOC: unfilled quantity cancelled"


def test_idempotency_keys_are_kept_24_hours_and_purged_after(account, alice, reliance):
    api = api_for(alice)
    first = api.post("/api/v1/orders", OrderBody(), format="json", HTTP_IDEMPOTENCY_KEY="day-old").json()
    key = IdempotencyKey.objects.get(key="day-old")

    IdempotencyKey.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(hours=23, minutes=59))
    assert idempotency_keys_purge() == 0
    assert api.post("/api/v1/orders", OrderBody(), format="json", HTTP_IDEMPOTENCY_KEY="day-old").json() == first

    IdempotencyKey.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(hours=24, minutes=1))
    assert idempotency_keys_purge() == 1
    again = api.post("/api/v1/orders", OrderBody(), format="json", HTTP_IDEMPOTENCY_KEY="day-old").json()
    assert again["id"] != first["id"]
