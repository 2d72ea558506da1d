"""The trade and dashboard pages as served: who sees what, and the dashboard's figures."""

import json
import re
from decimal import Decimal

from tests.trading.conftest import refreshed, settle
from trading.market.prices import price_record
from trading.models import Order
from trading.orders.accounts import account_create

D = Decimal


def boot_of(html: str) -> dict:
    match = re.search(r'<script id="trade-boot" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its start-up data"
    return json.loads(match.group(1))


def test_the_trade_page_starts_with_the_users_own_account_and_the_priced_instruments(
    client_for, account, alice, bob, reliance, infy
):
    bob_account = account_create(owner=bob, name="bob-paper", cash=D("100000"), created_by=bob)

    alice_boot = boot_of(client_for(alice).get("/trade/").content.decode())
    # bob asking for alice's account by id gets his own
    bob_boot = boot_of(client_for(bob).get("/trade/", {"account": account.pk}).content.decode())

    assert alice_boot["account"]["id"] == account.pk and alice_boot["accounts"] == [
        {"id": account.pk, "name": "alice-paper"}
    ]
    assert bob_boot["account"]["id"] == bob_account.pk and bob_boot["accounts"] == [
        {"id": bob_account.pk, "name": "bob-paper"}
    ]
    assert [(i["symbol"], i["tick"], i["lot"]) for i in alice_boot["instruments"]] == [
        ("INFY", "0.05", 1),
        ("RELIANCE", "0.05", 1),
    ]
    assert alice_boot["can"] == {"place": True, "cancel": True, "halt": True, "resume": True}
    assert set(alice_boot["live_statuses"]) == set(Order.LIVE)


def test_the_trade_page_tells_a_user_without_an_account_and_refuses_a_role_without_orders(client_for, carol, dave):
    assert "You have no trading account yet" in client_for(carol).get("/trade/").content.decode()
    assert client_for(dave).get("/trade/").status_code == 403
    assert client_for(dave).get("/dashboard/").status_code == 403


def test_the_dashboard_shows_pnl_turnover_win_and_fill_rates_slippage_and_strategies(
    client_for, account, alice, place, reliance, settings
):
    # given fills 10 bps worse than the price at placement: buy 10 at 2500 (+10 bps), sell 10 at 2600 (-10 bps)
    settings.PAPER_SLIPPAGE_BPS = D("10")
    buy = place(reliance, order_type="MARKET", quantity=10)
    settle()
    price_record(instrument=reliance, price=D("2600.00"))
    sell = place(reliance, side="SELL", order_type="MARKET", quantity=10)
    settle()
    # and a limit order that never filled
    place(reliance, price=D("2550.00"), quantity=5)
    settle()
    assert refreshed(buy).average_price == D("2502.50") and refreshed(sell).average_price == D("2597.40")

    page = client_for(alice).get("/dashboard/")

    html = page.content.decode()
    figures = page.context
    # slippage: (2502.50 - 2500) x 10 + (2600 - 2597.40) x 10 = 51.00 over an arrival value of 51,000
    assert figures["slippage"] == {"rupees": D("51.00"), "bps": D("10.00"), "fills": 2}
    assert "10.00 bps" in html and "₹51.00 over 2 fills" in html
    # turnover 25,025.00 + 25,974.00
    assert [(r["tradingsymbol"], r["value"], r["fills"]) for r in figures["turnover"]] == [
        ("RELIANCE", D("50999.00"), 2)
    ]
    # one closing fill, a win; 20 of 25 ordered shares filled
    assert figures["performance"]["win_rate"] == "1.0000"
    assert figures["performance"]["fill_rate"] == "0.8000"
    assert 'id="tile-win-rate">Win rate <b>100%' in html and "Fill rate <b>80%" in html
    # the caption says what the rate counts: shares, not orders (2 of 3 orders filled would read 67%)
    assert "20 of 25 shares filled, in 2 of 3 orders; 0 rejected" in html
    [manual] = figures["ledgers"]
    assert manual.name == "Manual" and manual.totals["realised"] == D("949.00") and manual.fills == 2
    assert manual.totals["net"] == D("949.00") - manual.totals["charges"] and manual.totals["charges"] > 0
    assert figures["ledger_total"] == manual.totals
    assert figures["trend"][-1]["total"] == D(figures["summary"]["day_pnl"]["total"])
