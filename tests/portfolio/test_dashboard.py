"""The dashboard's figures: its tiles agree with each other and with the portfolio API, money is grouped
the Indian way, and the series its charts draw (equity, day P&L, drawdown, by symbol and by strategy)
are the kept days' and today's."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache

from portfolio.models import PnlDaily
from portfolio.services import pnl_daily_record
from portfolio.templatetags.money import inr, percent
from tests.conftest import api_for
from tests.portfolio.conftest import fill
from tests.trading.conftest import instrument_make, settle
from trading.market.prices import price_key
from trading.models import Strategy
from trading.orders.accounts import account_create
from trading.orders.services import order_place
from tradingsite.ist import ist_day_start

D = Decimal
pytestmark = pytest.mark.django_db


def charts_of(html: str) -> dict:
    match = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the page carries its charts' figures"
    return json.loads(match.group(1))


def tile(html: str, name: str) -> str:
    """The figure a tile shows in bold."""
    match = re.search(rf'id="tile-{name}">[^<]*<b[^>]*>([^<]*)</b>', html)
    assert match, name
    return match.group(1)


def grouped(figure: str) -> str:
    return inr(D(figure))


@pytest.fixture
def desk(alice):
    infy = instrument_make("INFY", 408065, "1000.00")
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    account = account_create(owner=alice, name="alice-desk", cash=D("10000000"), created_by=alice)
    return account, infy, reliance


@pytest.mark.parametrize(
    ("value", "places", "shown"),
    [
        (D("1234567.5"), 2, "12,34,567.50"),
        (D("-1234567.505"), 2, "-12,34,567.51"),  # half away from zero, as money.js rounds
        ("123456789.00", 2, "12,34,56,789.00"),
        (D("999.995"), 2, "1,000.00"),
        (D("-0.004"), 2, "0.00"),  # no sign on what rounds to nothing
        (100000, 0, "1,00,000"),
        (None, 2, "—"),
        ("n/a", 2, "—"),
    ],
)
def test_money_is_grouped_the_indian_way(value, places, shown):
    assert inr(value, places) == shown


def test_a_fraction_is_shown_in_percent():
    assert (percent(D("-0.1234")), percent(D("0.0000")), percent(None)) == ("-12.34", "0.00", "—")


def test_on_the_first_day_the_day_pnl_is_the_net_pnl_on_the_tiles_and_the_api(desk, alice, client_for):
    # given an account's first day: one round trip in INFY, and 10 RELIANCE held, whose price the feed has
    # put in Redis (where it writes every tick) but not yet in the database (where it writes per flush)
    account, infy, reliance = desk
    fill(account, infy, "BUY", 10, "1000.00")
    fill(account, infy, "SELL", 10, "1012.50")
    fill(account, reliance, "BUY", 10, "2500.00", product="CNC")
    cache.set(price_key(reliance.instrument_token), "2531.25")

    # when
    summary = api_for(alice).get("/api/v1/portfolio/summary", {"account": account.pk}).json()
    page = client_for(alice).get("/dashboard/", {"account": account.pk})

    # then the day's P&L is the net P&L, both marked at the live price: 125 realised, 312.50 unrealised
    assert summary["day_pnl"]["unrealised"] == summary["unrealised_pnl"] == "312.50"
    assert summary["day_pnl"]["total"] == summary["net_pnl"]
    assert D(summary["net_pnl"]) == D("125.00") + D("312.50") - D(summary["charges"])
    # and the page's tiles show the API's figures, grouped
    html = page.content.decode()
    assert tile(html, "day-pnl") == tile(html, "net-pnl") == grouped(summary["net_pnl"])
    assert tile(html, "funds") == grouped(summary["funds_available"])
    # and today's point on the charts is the same day P&L, with the equity the cash and holding make
    [today] = charts_of(html)["days"]
    assert D(today["pnl"]) == D(summary["day_pnl"]["total"])
    assert D(today["equity"]) == D(summary["cash"]) + 10 * D("2531.25")
    assert D(today["equity"]) == D("10000000") + D(summary["net_pnl"])  # nothing deposited: capital plus P&L
    assert today["drawdown"] == "0.0000"


def test_large_figures_are_grouped_on_the_page(alice, client_for):
    account = account_create(owner=alice, name="alice-small", cash=D("1234567.50"), created_by=alice)

    html = client_for(alice).get("/dashboard/", {"account": account.pk}).content.decode()

    assert tile(html, "funds") == "12,34,567.50"
    assert "12,34,567.50 cash" in html
    assert "1234567.50" not in html.split('id="dashboard-data"')[0]  # ungrouped only in the charts' data


def test_funds_available_is_cash_less_what_working_orders_and_positions_block(desk, alice):
    account, infy, reliance = desk
    fill(account, infy, "BUY", 10, "1000.00")  # intraday: 10,000 at 5x leverage blocks 2,000
    order_place(
        account=account,
        instrument=reliance,
        transaction_type="BUY",
        order_type="LIMIT",
        product="CNC",
        quantity=4,
        price=D("2400.00"),
    )  # a delivery buy blocks its whole value, 9,600
    settle()

    summary = api_for(alice).get("/api/v1/portfolio/summary", {"account": account.pk}).json()

    blocked = D("10000") / account.mis_leverage + D("9600.00")
    assert D(summary["funds_blocked"]) == blocked
    assert D(summary["funds_available"]) == D(summary["cash"]) - blocked


def test_the_charts_series_are_the_kept_days_then_today(desk, alice, client_for):
    # given four kept days: equity 10 lakh, a peak of 12 lakh, then 9 lakh (25% below it), and a day kept
    # before equity was (its cash and unrealised P&L count); and today, flat, with 10.8 lakh of cash
    account, _, _ = desk
    account.cash = D("1080000.00")
    account.save(update_fields=["cash"])
    today = ist_day_start().date()
    kept = [
        (4, {"total": D("0.00"), "cash": D("1000000.00"), "equity": D("1000000.00")}),
        (3, {"total": D("200000.00"), "cash": D("1150000.00"), "equity": D("1200000.00")}),
        (2, {"total": D("-300000.00"), "cash": D("900000.00"), "equity": D("900000.00")}),
        (1, {"total": D("60000.00"), "cash": D("950000.00"), "unrealised": D("10000.00"), "equity": None}),
    ]
    for days_ago, figures in kept:
        PnlDaily.objects.create(account=account, date=today - timedelta(days=days_ago), **figures)

    page = client_for(alice).get("/dashboard/", {"account": account.pk})

    days = charts_of(page.content.decode())["days"]
    assert [day["date"] for day in days] == [str(today - timedelta(days=n)) for n in (4, 3, 2, 1, 0)]
    assert [day["equity"] for day in days] == ["1000000.00", "1200000.00", "900000.00", "960000.00", "1080000.00"]
    assert [day["pnl"] for day in days] == ["0.00", "200000.00", "-300000.00", "60000.00", "0.00"]
    assert [day["drawdown"] for day in days] == ["0.0000", "0.0000", "-0.2500", "-0.2000", "-0.1000"]
    assert page.context["max_drawdown"] == D("-0.2500")
    html = page.content.decode()
    assert '<b id="max-drawdown" class="down">-25.00%</b>' in html
    assert '<td class="num">9,60,000.00</td>' in html  # the day by day table, grouped


def test_the_daily_job_keeps_the_equity_with_holdings_at_their_market_value(desk):
    account, infy, reliance = desk
    fill(account, reliance, "BUY", 10, "2500.00", product="CNC")
    fill(account, infy, "BUY", 5, "1000.00")
    fill(account, reliance, "BUY", 1, "2520.00", product="CNC")  # the mark moves to 2,520
    fill(account, infy, "BUY", 1, "1010.00")  # and INFY's to 1,010: +50 on the first 5
    account.refresh_from_db()

    pnl_daily_record()

    row = PnlDaily.objects.get(account=account)
    # delivery at market value (its cost left the cash), intraday at its unrealised P&L
    assert row.equity == account.cash + 11 * D("2520.00") + 5 * D("10.00")
    assert row.equity == D("10000000") + row.total  # the first day: capital plus the day's P&L


def test_by_symbol_and_by_strategy_the_charts_split_the_net_pnl(desk, alice, client_for):
    account, infy, reliance = desk
    trend = Strategy.objects.create(account=account, name="trend", kind=Strategy.Kind.RULE, logic="sma_crossover")
    fill(account, infy, "BUY", 10, "1000.00", trend)
    fill(account, infy, "SELL", 10, "1100.00", trend)
    fill(account, reliance, "BUY", 4, "2500.00")
    fill(account, reliance, "SELL", 4, "2450.00")

    page = client_for(alice).get("/dashboard/", {"account": account.pk})

    charts = charts_of(page.content.decode())
    summary = page.context["summary"]
    symbols = {row["symbol"]: (row["value"], row["net"]) for row in charts["symbols"]}
    assert list(symbols) == ["NSE:INFY", "NSE:RELIANCE"]  # the larger traded value first
    assert [value for value, _ in symbols.values()] == ["21000.00", "19800.00"]
    assert sum(D(net) for _, net in symbols.values()) == D(summary["net_pnl"])
    strategies = {row["name"]: D(row["net"]) for row in charts["strategies"]}
    assert set(strategies) == {"Manual", "trend"}
    assert sum(strategies.values()) == D(summary["net_pnl"])
    assert strategies["trend"] == D(symbols["NSE:INFY"][1])  # trend traded INFY alone
