"""Charges equal a hand-computed contract note to the paisa; P&L follows a hand-kept ledger."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.trading.conftest import refreshed, settle
from trading.brokers.paper import paper_tick
from trading.models import Order, Position, Trade, TradingAccount
from trading.orders.fills import fill_apply
from trading.orders.sessions import SQUAREOFF_TAG, mis_squareoff

D = Decimal
IST = ZoneInfo("Asia/Kolkata")
pytestmark = pytest.mark.django_db


def charges_of(trade: Trade) -> dict:
    return {
        name: getattr(trade, name)
        for name in ("brokerage", "stt", "exchange_charge", "sebi_fee", "stamp_duty", "gst", "total_charges")
    }


def filled(place, instrument, *, side, quantity, price, product, at) -> Trade:
    order = place(instrument, side=side, quantity=quantity, price=price, product=product)
    return fill_apply(order=order, quantity=quantity, price=price, at=at)


def test_delivery_and_intraday_charges_match_a_hand_computed_contract_note(account, place, reliance, infy):
    day = datetime(2025, 1, 15, 10, 0, tzinfo=IST)

    delivery_buy = filled(place, reliance, side="BUY", quantity=100, price=D("2500.00"), product="CNC", at=day)
    delivery_sell = filled(place, reliance, side="SELL", quantity=100, price=D("2500.00"), product="CNC", at=day)
    intraday_buy = filled(place, infy, side="BUY", quantity=50, price=D("1500.00"), product="MIS", at=day)
    intraday_sell = filled(place, infy, side="SELL", quantity=50, price=D("1510.00"), product="MIS", at=day)

    # Turnover 2,50,000: STT 0.1% = 250.00; NSE 0.00297% = 7.425 -> 7.43; SEBI Rs10/crore = 0.25;
    # stamp 0.015% on the buy = 37.50; GST 18% of (0 + 7.43 + 0.25) = 1.3824 -> 1.38.
    assert charges_of(delivery_buy) == {
        "brokerage": D("0.00"),
        "stt": D("250.00"),
        "exchange_charge": D("7.43"),
        "sebi_fee": D("0.25"),
        "stamp_duty": D("37.50"),
        "gst": D("1.38"),
        "total_charges": D("296.56"),
    }
    # Same turnover selling: no stamp duty.
    assert charges_of(delivery_sell) == {
        "brokerage": D("0.00"),
        "stt": D("250.00"),
        "exchange_charge": D("7.43"),
        "sebi_fee": D("0.25"),
        "stamp_duty": D("0.00"),
        "gst": D("1.38"),
        "total_charges": D("259.06"),
    }
    # Turnover 75,000: brokerage 0.03% = 22.50, capped at 20.00; no STT on an intraday buy;
    # NSE 2.2275 -> 2.23; SEBI 0.075 -> 0.08; stamp 0.003% = 2.25; GST 18% of 22.31 = 4.0158 -> 4.02.
    assert charges_of(intraday_buy) == {
        "brokerage": D("20.00"),
        "stt": D("0.00"),
        "exchange_charge": D("2.23"),
        "sebi_fee": D("0.08"),
        "stamp_duty": D("2.25"),
        "gst": D("4.02"),
        "total_charges": D("28.58"),
    }
    # Turnover 75,500: brokerage 22.65 -> cap 20.00; STT 0.025% = 18.875 -> 18.88; NSE 2.24235 -> 2.24;
    # SEBI 0.0755 -> 0.08; GST 18% of 22.32 = 4.0176 -> 4.02.
    assert charges_of(intraday_sell) == {
        "brokerage": D("20.00"),
        "stt": D("18.88"),
        "exchange_charge": D("2.24"),
        "sebi_fee": D("0.08"),
        "stamp_duty": D("0.00"),
        "gst": D("4.02"),
        "total_charges": D("45.22"),
    }


def test_intraday_brokerage_cap_is_per_order_across_partial_fills(account, place, infy):
    day = datetime(2025, 1, 15, 10, 0, tzinfo=IST)
    order = place(infy, side="BUY", quantity=100, price=D("1500.00"), product="MIS")

    first = fill_apply(order=order, quantity=40, price=D("1500.00"), at=day)  # 0.03% of 60,000 = 18.00
    second = fill_apply(order=order, quantity=60, price=D("1500.00"), at=day)  # 27.00, but only 2.00 of cap is left

    assert (first.brokerage, second.brokerage) == (D("18.00"), D("2.00"))
    assert refreshed(order).brokerage_charged == D("20.00")


def test_a_trade_uses_the_rates_in_force_on_its_date(account, place, reliance):
    before = datetime(2024, 9, 30, 10, 0, tzinfo=IST)

    trade = filled(place, reliance, side="BUY", quantity=100, price=D("2500.00"), product="CNC", at=before)

    # NSE charged 0.00322% before 1 October 2024: 8.05 on 2,50,000.
    assert trade.exchange_charge == D("8.05")


def test_pnl_through_partial_fills_a_reversal_and_the_square_off_matches_the_ledger(account, place, infy, settings):
    # given a paper exchange that fills at most the volume traded in each tick
    settings.PAPER_MAX_VOLUME_PARTICIPATION = D("1")
    cash_before = account.cash
    paper_tick(instrument=infy, price=D("100.00"), volume=40)

    # when: buy 100 at market, filled 40 @ 100.00 now and 60 @ 101.00 on the next tick
    buy = place(infy, order_type="MARKET", quantity=100, product="MIS")
    settle()
    assert refreshed(buy).filled_quantity == 40 and buy.status == Order.Status.OPEN
    paper_tick(instrument=infy, price=D("101.00"), volume=60)
    assert refreshed(buy).status == Order.Status.COMPLETE
    # ... sell 150 @ 102.00: closes 100 (cost 10,060.00 -> realised +140.00) and opens a short of 50
    paper_tick(instrument=infy, price=D("102.00"), volume=1000)
    place(infy, side="SELL", order_type="MARKET", quantity=150, product="MIS")
    settle()
    # ... buy 20 @ 101.00 against the short: cost 5,100.00 x 20/50 = 2,040.00 -> realised +20.00
    paper_tick(instrument=infy, price=D("101.00"), volume=1000)
    place(infy, order_type="MARKET", quantity=20, product="MIS")
    settle()
    # ... and the 15:20 square-off buys back the last 30 @ 99.50: cost 3,060.00 -> realised +75.00
    paper_tick(instrument=infy, price=D("99.50"), volume=1000)
    squareoff = mis_squareoff()
    settle()

    # then
    position = Position.objects.get(account=account, instrument=infy, product="MIS")
    trades = Trade.objects.filter(account=account).order_by("pk")
    assert [(t.transaction_type, t.quantity, t.price, t.realised_pnl) for t in trades] == [
        ("BUY", 40, D("100.00"), D("0")),
        ("BUY", 60, D("101.00"), D("0")),
        ("SELL", 150, D("102.00"), D("140.00")),
        ("BUY", 20, D("101.00"), D("20.00")),
        ("BUY", 30, D("99.50"), D("75.00")),
    ]
    assert len(squareoff) == 1 and refreshed(squareoff[0]).tag == SQUAREOFF_TAG
    assert (position.quantity, position.open_cost, position.realised_pnl) == (0, D("0"), D("235.00"))
    charges = sum(t.total_charges for t in trades)
    assert position.charges == charges
    # intraday settles only its P&L: cash moved by realised P&L less charges
    assert TradingAccount.objects.get(pk=account.pk).cash == cash_before + D("235.00") - charges


def test_square_off_closes_intraday_positions_even_on_a_halted_account(account, place, infy):
    bought = place(infy, order_type="MARKET", quantity=10, product="MIS")
    resting = place(infy, quantity=5, price=D("1490.00"), product="MIS")
    settle()
    assert refreshed(bought).status == Order.Status.COMPLETE
    TradingAccount.objects.filter(pk=account.pk).update(status="halted", status_reason="desk stop")

    squareoff = mis_squareoff()
    settle()

    assert refreshed(resting).status == Order.Status.CANCELLED
    assert [refreshed(order).status for order in squareoff] == [Order.Status.COMPLETE]
    assert Position.objects.get(account=account, instrument=infy, product="MIS").quantity == 0
