"""The trade screen as a trader uses it, in a real browser against the real processes on the NIFTY 50
demo instruments with their simulated history and a simulated feed: search by keyboard, depth, the
ticket's estimate, confirmation and live status, margin as orders rest and are cancelled, modifying by
dragging a price line and from the blotter, a toast on a fill, exit from positions, the layout at
desktop and phone sizes, and axe-core's accessibility checks. Writes the README's screenshots."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.axe import axe_violations
from tests.browser.conftest import logged_in_page
from tests.threads import wait_for
from trading.market.history_demo import history_backfill_demo
from trading.market.history_intraday import intraday_backfill_demo
from trading.market.instruments import instruments_seed_demo
from trading.models import Instrument, Order, Position
from trading.orders.accounts import account_create

D = Decimal
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def number(text: str) -> Decimal:
    return D(text.replace(",", "").replace("₹", "").strip())


@pytest.fixture
def market(alice, stack):
    instruments_seed_demo()
    history_backfill_demo()
    intraday_backfill_demo()
    account = account_create(owner=alice, name="alice-paper", cash=D("1000000"), created_by=alice)
    stack.web()
    stack.worker(stack.queue)
    stack.feed(FEED="simulated", FEED_ALWAYS_OPEN="true", FEED_TICKS_PER_SECOND="4")
    return account


def page_ready(page):
    expect(page.locator("#market-state")).to_have_attribute("data-state", "live", timeout=20_000)
    expect(page.locator("#account-state")).to_have_attribute("data-state", "live", timeout=20_000)
    page.wait_for_function("() => Number(document.querySelector('#chart').dataset.liveUpdates) >= 1", timeout=20_000)


def limit_below(instrument: Instrument, last: Decimal, share: str) -> Decimal:
    """A price `share` below the last price, on the tick: a buy there rests."""
    raw = last * (1 - D(share))
    return ((raw / instrument.tick_size).quantize(D("1")) * instrument.tick_size).quantize(D("0.01"))


def test_a_trader_searches_reads_depth_and_works_orders_from_the_ticket_blotter_and_chart(market, stack, chromium):
    page = logged_in_page(chromium, stack.base_url, "alice")
    page.set_viewport_size({"width": 1440, "height": 900})
    page_ready(page)

    # search by keyboard: "/" goes to the box; the arrow keys and Enter choose; the chart follows
    page.keyboard.press("/")
    page.keyboard.type("infos")
    options = page.locator("#search-results [role=option]")
    expect(options.first).to_contain_text("INFY")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    expect(page.locator("#chart-title")).to_have_text("INFY")
    infy = Instrument.objects.get(tradingsymbol="INFY")
    expect(page.locator("#chart")).to_have_attribute("data-token", str(infy.instrument_token))
    page.wait_for_function("() => Number(document.querySelector('#chart').dataset.bars) > 100", timeout=20_000)

    # the depth: five levels a side from the feed, bids below offers, and the day's figures
    depth = page.locator("#depth-panel")
    expect(depth).to_have_attribute("data-levels", "5", timeout=15_000)
    best_bid = number(depth.locator("#depth tbody tr").first.locator(".bid").inner_text())
    best_ask = number(depth.locator("#depth tbody tr").first.locator(".ask").inner_text())
    assert D(0) < best_bid < best_ask
    assert number(depth.locator('[data-day="volume"]').inner_text()) > 0

    # a MARKET order has no price field; a LIMIT order has one again
    ticket = page.locator("#ticket")
    ticket.locator("select[name=order_type]").select_option("MARKET")
    expect(ticket.locator('[data-for="price"]')).to_be_hidden()
    expect(ticket.locator('[data-for="trigger_price"]')).to_be_hidden()
    ticket.locator("select[name=order_type]").select_option("SL-M")
    expect(ticket.locator('[data-for="trigger_price"]')).to_be_visible()
    ticket.locator("select[name=order_type]").select_option("LIMIT")
    expect(ticket.locator('[data-for="price"]')).to_be_visible()

    # the ticket shows what a limit buy is worth, costs and holds before it is sent
    last = number(page.locator("#chart").get_attribute("data-last-price"))
    price = limit_below(infy, last, "0.03")
    ticket.locator("input[name=quantity]").fill("10")
    ticket.locator("input[name=price]").fill(str(price))
    estimate = page.locator("#ticket-estimate")
    expect(estimate).to_have_attribute("data-state", "ready", timeout=10_000)
    assert number(estimate.locator('[data-estimate="value"]').inner_text()) == price * 10
    assert number(estimate.locator('[data-estimate="charges"]').inner_text()) > 0

    # when it rests, margin used grows by its value and available funds shrink; cancelling gives it back
    margin, available = page.locator("#acct-margin"), page.locator("#acct-available")
    expect(margin).to_have_text("0.00")
    available_before = number(available.inner_text())
    ticket.locator("button[type=submit]").click()
    expect(page.locator("#ticket-result")).to_have_attribute("data-status", "OPEN", timeout=15_000)
    resting = Order.objects.get(status=Order.Status.OPEN)
    expect(page.locator("#ticket-result")).to_contain_text(f"Order {resting.pk} · BUY 10 INFY LIMIT")
    wait_for(lambda: number(margin.inner_text()) == price * 10, timeout=10, what="margin to hold the order's value")
    assert number(available.inner_text()) == available_before - price * 10
    row = page.locator(f'#orders tr[data-order-id="{resting.pk}"]')
    row.locator("button.cancel").click()
    expect(row).to_have_attribute("data-status", "CANCELLED", timeout=10_000)
    expect(margin).to_have_text("0.00", timeout=10_000)
    assert number(available.inner_text()) == available_before

    # modify from the blotter: a new price in the dialog reaches the order
    ticket.locator("button[type=submit]").click()
    expect(page.locator("#ticket-result")).to_have_attribute("data-status", "OPEN", timeout=15_000)
    order = Order.objects.get(status=Order.Status.OPEN)
    row = page.locator(f'#orders tr[data-order-id="{order.pk}"]')
    row.locator("button.modify").click()
    lower = (price - infy.tick_size * 20).quantize(D("0.01"))
    page.fill("#modify-dialog input[name=price]", str(lower))
    page.click("#modify-confirm-button")
    wait_for(lambda: Order.objects.get(pk=order.pk).price == lower, timeout=10, what="the modified price")
    expect(row.locator(".price")).to_have_text(f"{lower:,.2f}", timeout=10_000)

    # modify by dragging its line on the chart: down is a lower price, snapped to the tick
    expect(page.locator("#chart")).to_have_attribute("data-order-lines", "1", timeout=10_000)
    line_y = page.evaluate(f"() => document.querySelector('#chart').lineY({order.pk})")
    box = page.locator("#chart").bounding_box()
    x = box["x"] + box["width"] * 0.5
    page.mouse.move(x, box["y"] + line_y)
    page.mouse.down()
    page.mouse.move(x, box["y"] + line_y + 30, steps=6)
    page.mouse.up()
    dragged = wait_for(
        lambda: (p := Order.objects.get(pk=order.pk).price) != lower and p, timeout=10, what="the dragged price"
    )
    assert dragged < lower and dragged % infy.tick_size == 0

    # dragged up past the last price it would fill at once: the page asks, and "no" leaves it be
    line_y = page.evaluate(f"() => document.querySelector('#chart').lineY({order.pk})")
    last = number(page.locator("#chart").get_attribute("data-last-price"))
    market_y = page.evaluate(f"() => document.querySelector('#chart').priceY({last})")
    page.mouse.move(x, box["y"] + line_y)
    page.mouse.down()
    # Well past it (the market moves meanwhile). The line moves by the pointer's travel, and where the axis
    # has little room above the market the first move can fall short: the pointer then goes on up by what
    # is still missing, read from where the line is drawn now.
    pointer_y = max(market_y - 40, 10)
    page.mouse.move(x, box["y"] + pointer_y, steps=8)
    for _ in range(4):
        line_now = page.evaluate(f"() => document.querySelector('#chart').lineY({order.pk})")
        market_now = page.evaluate(f"() => document.querySelector('#chart').priceY({last})")
        if line_now is None or market_now is None or line_now < market_now - 10:
            break
        pointer_y -= line_now - market_now + 20
        page.mouse.move(x, box["y"] + pointer_y, steps=4)
    page.mouse.up()
    expect(page.locator("#order-confirm")).to_be_visible()
    expect(page.locator("#order-confirm-text")).to_contain_text("it may fill at once")
    page.click("#order-confirm button[value=cancel]")
    page.wait_for_timeout(500)
    assert Order.objects.get(pk=order.pk).price == dragged
    expect(page.locator("#toasts")).to_contain_text(f"Order {order.pk} moved to")

    # an order worth more than the threshold asks first: "no" sends nothing, "yes" places it
    ticket.locator("input[name=quantity]").fill("500")
    before = Order.objects.count()
    ticket.locator("button[type=submit]").click()
    expect(page.locator("#order-confirm")).to_be_visible()
    expect(page.locator("#order-confirm-text")).to_contain_text("BUY 500 INFY LIMIT")
    page.click("#order-confirm button[value=cancel]")
    assert Order.objects.count() == before
    ticket.locator("button[type=submit]").click()
    page.click("#order-confirm-button")
    wait_for(lambda: Order.objects.count() == before + 1, timeout=10, what="the confirmed order")

    # a market buy: the ticket follows it to COMPLETE, a toast says it filled, and the chart marks it
    ticket.locator("select[name=order_type]").select_option("MARKET")
    ticket.locator("input[name=quantity]").fill("5")
    ticket.locator("button[type=submit]").click()
    result = page.locator("#ticket-result")
    expect(result).to_have_attribute("data-status", "COMPLETE", timeout=20_000)
    expect(result).to_contain_text("filled 5/5 at")
    expect(page.locator("#toasts")).to_contain_text("Bought 5 INFY at", timeout=10_000)
    page.wait_for_function("() => Number(document.querySelector('#chart').dataset.fillMarkers) >= 1")

    # exit from the positions tab sells what was bought, at market
    page.click("#tab-positions")
    position_row = page.locator(f'#positions tr[data-token="{infy.instrument_token}"]')
    expect(position_row.locator(".qty")).to_have_text("5", timeout=10_000)
    position_row.locator("button.exit").click()
    expect(page.locator("#order-confirm-text")).to_contain_text("SELL 5 at market")
    page.click("#order-confirm-button")
    wait_for(
        lambda: Position.objects.filter(instrument=infy, quantity=0).exists(), timeout=20, what="the position closed"
    )
    expect(position_row.locator(".qty")).to_have_text("0", timeout=10_000)

    # at 1280x720, with orders working: the blotter's actions stay in view, and the README shows it
    page.set_viewport_size({"width": 1280, "height": 720})
    page.click("#tab-orders")
    page.wait_for_timeout(500)
    cancel = page.locator("#orders button.cancel").first.bounding_box()
    pane = page.locator("#pane-orders").bounding_box()
    assert cancel["x"] + cancel["width"] <= pane["x"] + pane["width"], "Cancel is scrolled out of the orders pane"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "trade-orders-1280x720.png"))
    assert page.errors == []


def test_the_screen_fits_desktops_and_phones_and_passes_axe(market, stack, chromium):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = logged_in_page(chromium, stack.base_url, "alice")
    no_scroll = """() => ({
        x: document.documentElement.scrollWidth - window.innerWidth,
        y: document.documentElement.scrollHeight - window.innerHeight })"""

    # a desktop screen holds the whole page: nothing scrolls but the panels themselves
    for width, height in ((1440, 900), (1280, 720)):
        page.set_viewport_size({"width": width, "height": height})
        page_ready(page)
        assert page.evaluate(no_scroll) == {"x": 0, "y": 0}, f"the page scrolls at {width}x{height}"
        # the watchlist's change column is not clipped: its cell is as wide as its text
        clipped = page.evaluate(
            """() => [...document.querySelectorAll('#watchlist td.pct, #watchlist .sym')]
                 .filter((c) => c.scrollWidth > c.clientWidth + 1).length"""
        )
        assert clipped == 0, f"{clipped} watchlist cells clipped at {width}x{height}"
        overflow = page.evaluate(
            """() => document.querySelector('#watchlist').offsetWidth
                     - document.querySelector('.watch .scroll').clientWidth"""
        )
        assert overflow <= 0, f"the watchlist is {overflow} px wider than its panel at {width}x{height}"
    page.set_viewport_size({"width": 1440, "height": 900})
    expect(page.locator("#depth-panel")).to_have_attribute("data-levels", "5", timeout=15_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(SHOTS / "trade-1440x900.png"))

    # accessibility: no serious or critical axe-core violation, with each tab of the book shown
    assert axe_violations(page) == []
    for tab in ("positions", "holdings", "trades", "funds"):
        page.click(f"#tab-{tab}")
        assert axe_violations(page) == [], tab
    page.click("#tab-orders")
    page.keyboard.press("/")
    page.keyboard.type("rel")
    expect(page.locator("#search-results [role=option]").first).to_be_visible()
    assert axe_violations(page) == [], "with the search open"
    page.keyboard.press("Escape")

    # keyboard: S and B choose the side and put the cursor in the quantity
    page.locator("#chart-title").click()
    page.keyboard.press("s")
    expect(page.locator("#ticket input[value=SELL]")).to_be_checked()
    expect(page.locator("#ticket-submit")).to_have_text(re.compile(r"^Sell "))
    expect(page.locator("#ticket input[name=quantity]")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    expect(page.locator("#ticket input[value=BUY]")).to_be_checked()

    # the dark theme follows the system's setting, and passes axe too (contrast included)
    page.emulate_media(color_scheme="dark")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == "rgb(13, 17, 23)"
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "trade-dark-1440x900.png"))
    assert axe_violations(page) == []
    page.emulate_media(color_scheme="light")

    # a phone: one column that scrolls down, never sideways, with Log out on screen
    phone = chromium.new_context(
        base_url=stack.base_url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    phone.add_cookies(page.context.cookies())
    small = phone.new_page()
    small.goto("/trade/")
    page_ready(small)
    small.wait_for_function("() => Number(document.querySelector('#chart').dataset.bars) > 100", timeout=10_000)
    assert small.evaluate(no_scroll)["x"] <= 0, "the page scrolls sideways at 390 px"
    logout = small.locator("header .who button").bounding_box()
    assert logout["x"] + logout["width"] <= 390
    small.wait_for_timeout(500)
    small.screenshot(path=str(SHOTS / "trade-390x844.png"), full_page=True)
    assert axe_violations(small) == []
    phone.close()
    assert page.errors == []
