"""The dashboard in a real browser against the real web process: a trader with fills and kept days sees
the equity, day P&L and drawdown charts drawn, bars by symbol and by strategy, grouped figures, in the
light and the dark theme, with no serious accessibility violation; and the API tokens page likewise."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from portfolio.models import PnlDaily
from tests.browser.axe import axe_violations
from tests.browser.conftest import logged_in_page
from tests.portfolio.conftest import fill
from tests.trading.conftest import instrument_make
from trading.models import Strategy
from trading.orders.accounts import account_create
from tradingsite.ist import ist_day_start
from tradingsite.tokens import api_token_create

D = Decimal
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def trader_with_history(alice):
    """alice's account: fills in two symbols by hand and by a strategy today, and six kept days."""
    infy = instrument_make("INFY", 408065, "1500.00")
    reliance = instrument_make("RELIANCE", 738561, "2500.00")
    account = account_create(owner=alice, name="alice-paper", cash=D("10000000"), created_by=alice)
    trend = Strategy.objects.create(account=account, name="trend", kind=Strategy.Kind.RULE, logic="sma_crossover")
    fill(account, infy, "BUY", 200, "1500.00", trend)
    fill(account, infy, "SELL", 200, "1512.35", trend)
    fill(account, reliance, "BUY", 100, "2500.00", product="CNC")
    fill(account, reliance, "BUY", 40, "2480.00")
    fill(account, reliance, "SELL", 40, "2471.10")
    today = ist_day_start().date()
    equity = D("9950000.00")
    kept = ("-50000", "120000", "35000.50", "-210000", "-42000", "98000")
    for days_ago, pnl in zip(range(len(kept), 0, -1), kept, strict=True):
        equity += D(pnl)
        PnlDaily.objects.create(
            account=account, date=today - timedelta(days=days_ago), total=D(pnl), cash=equity, equity=equity
        )
    return account


def test_the_dashboard_draws_its_charts_with_grouped_figures_and_no_serious_violations(
    stack, chromium, trader_with_history
):
    # given the web process, and alice's dashboard on a laptop's screen
    stack.web()
    page = logged_in_page(chromium, stack.base_url, "alice", "/dashboard/")
    page.set_viewport_size({"width": 1440, "height": 900})

    # then both charts are drawn, a point a day: six kept days and today
    for chart in ("#equity-chart", "#drawdown-chart"):
        expect(page.locator(chart)).to_have_attribute("data-points", "7", timeout=10_000)
        assert page.locator(f"{chart} canvas").count() > 0, chart
        box = page.locator(f"{chart} canvas").first.bounding_box()
        assert box["width"] > 300 and box["height"] > 100, chart
    # and the bars by symbol and by strategy, each with its value as text and a length
    expect(page.locator("#symbol-value-bars li")).to_have_count(2)
    expect(page.locator("#symbol-net-bars li")).to_have_count(2)
    expect(page.locator("#strategy-bars li")).to_have_count(2)
    first = page.locator("#symbol-value-bars li").first
    expect(first.locator(".label")).to_have_text("NSE:INFY")
    expect(first.locator(".value")).to_have_text("6,02,470.00")  # 200 x 1,500 + 200 x 1,512.35
    widths = [bar.bounding_box()["width"] for bar in page.locator("#symbol-value-bars .bar").all()]
    assert widths[0] > widths[1] > 1
    # and every figure is grouped: the deepest drawdown (2,52,000 off a peak of 1,00,55,000.50), the funds
    expect(page.locator("#max-drawdown")).to_have_text("-2.51%")
    funds = page.locator("#tile-funds b").inner_text()
    assert "," in funds and funds.count(",") >= 2, funds
    day, net = page.locator("#tile-day-pnl b").inner_text(), page.locator("#tile-net-pnl b").inner_text()
    assert day == net  # the account's first day of fills: what it made today is all it has made

    # and axe finds nothing serious, in the light theme and the dark
    assert axe_violations(page) == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    light_card = page.locator(".card").first.evaluate("(card) => getComputedStyle(card).backgroundColor")
    page.emulate_media(color_scheme="dark")
    dark_card = page.locator(".card").first.evaluate("(card) => getComputedStyle(card).backgroundColor")
    assert dark_card != light_card
    assert axe_violations(page) == []
    page.screenshot(path=str(SCREENSHOTS / "dashboard-dark.png"), full_page=True)
    assert page.errors == []


def test_the_dashboard_of_an_account_without_fills_draws_todays_point_alone(stack, chromium, alice):
    account_create(owner=alice, name="alice-new", cash=D("1234567.50"), created_by=alice)
    stack.web()

    page = logged_in_page(chromium, stack.base_url, "alice", "/dashboard/")

    expect(page.locator("#equity-chart")).to_have_attribute("data-points", "1", timeout=10_000)
    expect(page.locator("#tile-funds b")).to_have_text("12,34,567.50")
    expect(page.locator("#max-drawdown")).to_have_text("0.00%")
    assert axe_violations(page) == []
    assert page.errors == []


def test_the_api_tokens_page_has_no_serious_violations(stack, chromium, alice):
    api_token_create(user=alice, name="reporting", scope="read", days=30)
    stack.web()
    page = logged_in_page(chromium, stack.base_url, "alice", "/accounts/tokens/")
    assert axe_violations(page) == []

    # and after a token is made, with the key shown once
    page.fill("#id_name", "notebook")
    page.click("#token-form input[type=submit]")
    expect(page.locator("#new-token")).to_be_visible()
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="dark")
    assert axe_violations(page) == []
