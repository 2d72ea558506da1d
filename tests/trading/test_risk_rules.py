"""Each pre-trade rule accepts an order at its limit and rejects one a tick or a lot beyond, naming itself."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from tests.trading.conftest import instrument_make, refreshed, settle
from trading.market.prices import price_record
from trading.models import Order, TradingAccount
from trading.orders.accounts import account_limits_set, account_status_set
from trading.orders.services import account_halt, order_cancel

D = Decimal
pytestmark = pytest.mark.django_db


def accepted(order: Order) -> bool:
    return order.status != Order.Status.REJECTED


def assert_rejected(order: Order, rule: str) -> None:
    assert order.status == Order.Status.REJECTED, f"expected {rule}, got {order.status}"
    assert order.rejection_rule == rule
    assert order.status_message.startswith(f"{rule}: ")


def limits(account, **changes):
    return account_limits_set(account=account, changes=changes)


def test_max_order_quantity(account, place, reliance):
    limits(account, max_order_quantity=100)

    assert accepted(place(reliance, quantity=100))
    rejected = place(reliance, quantity=101)

    assert_rejected(rejected, "max_order_quantity")
    assert "quantity 101 exceeds the limit of 100" in rejected.status_message


def test_max_order_value_at_the_limit_and_one_tick_over(account, place, reliance):
    limits(account, max_order_value=D("250000"))

    assert accepted(place(reliance, quantity=100, price=D("2500.00")))
    rejected = place(reliance, quantity=100, price=D("2500.05"))

    assert_rejected(rejected, "max_order_value")
    assert "order value 250,005.00 exceeds the limit of 250,000.00" in rejected.status_message


def test_price_band_around_the_last_price(account, place, reliance):
    # last price 2500.00, band 5%: 2375.00 to 2625.00
    assert accepted(place(reliance, price=D("2625.00")))
    assert accepted(place(reliance, price=D("2375.00")))

    high = place(reliance, price=D("2625.05"))
    low = place(reliance, price=D("2374.95"))

    assert_rejected(high, "price_band")
    assert_rejected(low, "price_band")
    assert "outside 5.00% of the last price 2500.00 (2375.00 to 2625.00)" in high.status_message


def test_prices_must_be_on_the_tick(place, reliance):
    assert accepted(place(reliance, price=D("2500.05")))

    rejected = place(reliance, price=D("2500.03"))

    assert_rejected(rejected, "tick_size")
    assert "2500.03 is not a multiple of the tick size 0.05" in rejected.status_message


def test_quantity_must_be_whole_lots(account, place):
    future = instrument_make("NIFTY25JANFUT", 13238786, "23500.00", lot=75, exchange="NFO")
    big = D("100000000")
    limits(account, max_order_value=big, max_position_value=big, max_gross_exposure=big)

    assert accepted(place(future, quantity=150, product="NRML"))
    rejected = place(future, quantity=151, product="NRML")

    assert_rejected(rejected, "lot_size")
    assert "quantity 151 is not a multiple of the lot size 75" in rejected.status_message


def test_max_position_value_counts_the_position_and_working_orders(account, place, reliance):
    limits(account, max_position_value=D("500000"))
    held = place(reliance, order_type="MARKET", quantity=100)
    settle()
    assert refreshed(held).status == Order.Status.COMPLETE

    # 100 held + 100 working = 200 x 2500.00 = 500,000.00: at the limit
    assert accepted(place(reliance, quantity=100, price=D("2500.00")))
    rejected = place(reliance, quantity=1, price=D("2500.00"))

    assert_rejected(rejected, "max_position_value")
    assert "could reach 201 shares worth 502,500.00" in rejected.status_message


def test_max_gross_exposure_across_instruments(account, place, reliance, infy):
    limits(account, max_gross_exposure=D("400000"))
    assert accepted(place(reliance, quantity=100, price=D("2500.00")))  # 250,000

    assert accepted(place(infy, quantity=100, price=D("1500.00")))  # 400,000 in all
    rejected = place(infy, quantity=1, price=D("1500.00"))

    assert_rejected(rejected, "max_gross_exposure")


def test_cash_for_delivery_buys_counts_working_orders(account, place, reliance):
    TradingAccount.objects.filter(pk=account.pk).update(cash=D("300000"))
    assert accepted(place(reliance, quantity=20, price=D("2500.00")))  # blocks 50,000

    assert accepted(place(reliance, quantity=100, price=D("2500.00")))  # 250,000: exactly what is left
    rejected = place(reliance, quantity=1, price=D("2500.00"))

    assert_rejected(rejected, "funds")
    assert "needs 2,500.00 of cash; 0.00 is available" in rejected.status_message


def test_margin_for_intraday_uses_the_leverage(account, place, reliance):
    TradingAccount.objects.filter(pk=account.pk).update(cash=D("50000"))  # x5 leverage: 250,000 of MIS

    assert accepted(place(reliance, product="MIS", quantity=100, price=D("2500.00")))
    order_cancel(order=Order.objects.latest("pk"))
    rejected = place(reliance, product="MIS", quantity=100, price=D("2500.05"))

    assert_rejected(rejected, "funds")
    assert "needs 50,001.00 of margin at 5.00x leverage" in rejected.status_message


def test_delivery_sells_need_holdings(account, place, reliance):
    bought = place(reliance, order_type="MARKET", quantity=10)
    settle()
    assert refreshed(bought).status == Order.Status.COMPLETE

    assert accepted(place(reliance, side="SELL", quantity=10, price=D("2600.00")))
    rejected = place(reliance, side="SELL", quantity=1, price=D("2600.00"))

    assert_rejected(rejected, "holdings")
    assert "0 available" in rejected.status_message


def test_order_rate_limit_per_account(account, place, reliance):
    limits(account, max_orders_per_second=10)

    placed = [place(reliance) for _ in range(10)]
    rejected = place(reliance)

    assert all(accepted(order) for order in placed)
    assert_rejected(rejected, "order_rate")
    assert "the limit is 10 per second" in rejected.status_message


def test_daily_loss_limit_halts_the_account_when_reached(account, place, reliance):
    bought = place(reliance, order_type="MARKET", quantity=100)
    settle()
    charges = refreshed(bought).trades.get().total_charges
    # At 2490.00 the day's loss is 1,000.00 plus charges: make that exactly the limit.
    limits(account, daily_loss_limit=D("1000.00") + charges, daily_loss_action="halted")

    price_record(instrument=reliance, price=D("2490.05"))
    assert accepted(place(reliance, quantity=1, price=D("2490.05")))
    price_record(instrument=reliance, price=D("2490.00"))
    rejected = place(reliance, quantity=1, price=D("2490.00"))

    assert_rejected(rejected, "account_halted")
    account.refresh_from_db()
    assert account.status == TradingAccount.Status.HALTED
    assert "daily loss" in account.status_reason
    assert AuditEvent.objects.filter(action="account.halted", object_id=str(account.pk)).exists()


def test_a_reducing_account_takes_only_orders_that_reduce(account, place, reliance):
    bought = place(reliance, order_type="MARKET", quantity=10)
    settle()
    assert refreshed(bought).status == Order.Status.COMPLETE
    account_status_set(account=account, status=TradingAccount.Status.REDUCING, reason="test")

    assert_rejected(place(reliance, quantity=1), "account_reducing")
    assert accepted(place(reliance, side="SELL", quantity=10, price=D("2500.00")))
    assert_rejected(place(reliance, side="SELL", quantity=1, price=D("2500.00")), "account_reducing")


def test_kill_switch_halts_cancels_every_open_order_and_then_accepts_only_cancels(account, place, reliance):
    resting = [place(reliance, quantity=1, price=D("2450.00")) for _ in range(3)]
    settle()

    cancelled = account_halt(account=account, reason="desk stop")

    assert {order.pk for order in cancelled} == {order.pk for order in resting}
    assert all(refreshed(order).status == Order.Status.CANCELLED for order in resting)
    rejected = place(reliance)
    assert_rejected(rejected, "account_halted")
    assert "(desk stop)" in rejected.status_message


def test_every_rejection_is_stored_and_audited_with_its_rule(account, place, reliance):
    rejected = place(reliance, price=D("9999.00"))

    event = AuditEvent.objects.filter(action="order.reject", object_id=str(rejected.pk)).get()
    assert event.payload["rule"] == "price_band"
    assert event.payload["reason"] == rejected.status_message


def test_a_stop_loss_limit_triggers_on_the_way_to_its_price_not_past_it(place, reliance):
    # reliance trades at 2500: a buy stop triggers above the market, at or below its limit
    assert accepted(place(reliance, order_type="SL", price=D("2525.00"), trigger_price=D("2520.00")))
    assert accepted(place(reliance, order_type="SL", price=D("2520.00"), trigger_price=D("2520.00")))
    past = place(reliance, order_type="SL", price=D("2515.00"), trigger_price=D("2520.00"))
    assert_rejected(past, "order_shape")
    assert "a BUY SL order's trigger_price 2520.00 cannot be above its price 2515.00" in past.status_message

    sell = place(reliance, side="SELL", order_type="SL", product="MIS", price=D("2485.00"), trigger_price=D("2480.00"))
    assert_rejected(sell, "order_shape")
    assert "cannot be below its price 2485.00" in sell.status_message
