"""The trader's page in a real browser against the real processes: live ticks on the chart, an order
placed from the ticket that rests and fills when the price crosses, P&L moving without a reload, the
kill switch, another user's page that never shows it, and a web restart the page recovers from."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import logged_in_page
from tests.threads import wait_for
from tests.trading.conftest import instrument_make
from trading.models import Instrument, Order, Trade, TradingAccount
from trading.orders.accounts import account_create
from trading.orders.services import order_cancel, order_place

D = Decimal
TOKEN = 5_000_001


def sawtooth_csv(path, *, start: datetime, minutes: int = 10) -> None:
    """SAWCO ticks five times a second, 1000.00 up to 1010.00 and back every 8 seconds: every price in
    between is crossed again within 8 s, so a resting order's fill is certain, not a matter of luck."""
    steps = [D("1000.00") + D("0.25") * i for i in range(40)] + [D("1010.00") - D("0.25") * i for i in range(40)]
    lines = ["timestamp,tradingsymbol,price,volume"]
    for n in range(minutes * 60 * 5):
        at = start + timedelta(milliseconds=200 * n)
        lines.append(f"{at.isoformat()},SAWCO,{steps[n % len(steps)]},{10 + n % 7}")
    path.write_text("\n".join(lines) + "\n")


def number(text: str) -> Decimal:
    return D(text.replace(",", "").replace("%", ""))


@pytest.fixture
def traders(alice, bob):
    instrument_make("SAWCO", TOKEN, "1000.00")
    alice_account = account_create(owner=alice, name="alice-paper", cash=D("10000000"), created_by=alice)
    account_create(owner=bob, name="bob-paper", cash=D("10000000"), created_by=bob)
    return alice_account


def test_trader_sees_ticks_places_a_limit_order_watches_it_fill_and_pnl_move(stack, chromium, traders, tmp_path):
    # given the web, a worker and a feed replaying a sawtooth, and alice and bob on their trade pages
    replay = tmp_path / "sawco.csv"
    sawtooth_csv(replay, start=datetime.now(UTC))
    stack.web()
    stack.worker(stack.queue)
    stack.feed(FEED="replay", FEED_REPLAY_PATH=str(replay), FEED_REPLAY_SPEED="1")
    alice_page = logged_in_page(chromium, stack.base_url, "alice")
    bob_page = logged_in_page(chromium, stack.base_url, "bob")
    alice_page.evaluate("() => { window.notReloaded = true; }")

    # then alice's chart takes live ticks and the watchlist shows the live price
    expect(alice_page.locator("#market-state")).to_have_attribute("data-state", "live", timeout=20_000)
    alice_page.wait_for_function(
        "() => Number(document.querySelector('#chart').dataset.liveUpdates) >= 5", timeout=30_000
    )
    watch_ltp = alice_page.locator(f'#watchlist tr[data-token="{TOKEN}"] .ltp')
    assert D("1000") <= number(watch_ltp.inner_text()) <= D("1010")

    # when she enters a price off the tick size, the ticket says so and sends nothing
    ticket = alice_page.locator("#ticket")
    ticket.locator("select[name=order_type]").select_option("LIMIT")
    ticket.locator("input[name=quantity]").fill("10")
    ticket.locator("input[name=price]").fill("1002.03")
    ticket.locator("button[type=submit]").click()
    problems = alice_page.locator("#ticket-problems")
    expect(problems).to_contain_text("price 1002.03 is not a multiple of the tick size 0.05")
    assert not Order.objects.exists()

    # and an order the server rejects shows the server's reason word for word
    ticket.locator("input[name=price]").fill("1002.00")
    ticket.locator("input[name=quantity]").fill("20000")
    ticket.locator("button[type=submit]").click()
    # (worth two crore: the ticket asks first)
    alice_page.click("#order-confirm-button")
    expect(alice_page.locator("#ticket-error")).not_to_be_empty(timeout=10_000)
    rejected = wait_for(
        lambda: Order.objects.filter(status=Order.Status.REJECTED).first(), timeout=10, what="the REJECTED order"
    )
    assert alice_page.locator("#ticket-error").inner_text() == rejected.status_message
    assert rejected.rejection_rule == "max_order_quantity"

    # when the price is well above 1002 she places a BUY LIMIT 10 @ 1002.00
    alice_page.wait_for_function(
        "() => Number(document.querySelector('#chart').dataset.lastPrice) >= 1006", timeout=30_000
    )
    ticket.locator("input[name=quantity]").fill("10")
    ticket.locator("button[type=submit]").click()
    expect(alice_page.locator("#ticket-result")).to_have_attribute("data-status", "OPEN", timeout=10_000)
    order = Order.objects.exclude(status=Order.Status.REJECTED).get()
    expect(alice_page.locator("#ticket-result")).to_contain_text(f"Order {order.pk} · BUY 10 SAWCO LIMIT 1,002.00")
    assert order.arrival_price >= D("1006")

    # then it fills at its limit when the falling price crosses it, and her page shows it without a reload
    row = alice_page.locator(f'#orders tr[data-order-id="{order.pk}"]')
    expect(row).to_have_attribute("data-status", "COMPLETE", timeout=40_000)
    trade = Trade.objects.get(order=order)
    assert trade.price == D("1002.00") and trade.quantity == 10
    expect(row.locator(".filled")).to_have_text("10/10")
    alice_page.wait_for_function(
        "() => Number(document.querySelector('#chart').dataset.fillMarkers) >= 1", timeout=10_000
    )
    position = alice_page.locator(f'#positions tr[data-token="{TOKEN}"]')
    expect(position.locator(".qty")).to_have_text("10", timeout=10_000)

    # and the position's P&L and the day's P&L move with the price, with no reload
    unrealised = position.locator(".unrealised")
    first, first_day = unrealised.inner_text(), alice_page.locator("#acct-daypnl").inner_text()
    wait_for(lambda: unrealised.inner_text() != first, timeout=15, what="the unrealised P&L to move")
    wait_for(
        lambda: alice_page.locator("#acct-daypnl").inner_text() != first_day, timeout=15, what="the day P&L to move"
    )
    last = number(alice_page.locator("#chart").get_attribute("data-last-price"))
    shown = number(unrealised.inner_text())
    assert abs(shown - (last - D("1002.00")) * 10) <= D("10") * D("0.25") * 2  # a tick or two behind at most
    assert alice_page.evaluate("() => window.notReloaded") is True

    # when she halts the account from the kill switch, after saying no once
    ticket.locator("input[name=price]").fill("985.00")
    ticket.locator("button[type=submit]").click()
    resting = wait_for(
        lambda: Order.objects.filter(price=D("985.00"), status=Order.Status.OPEN).first(), timeout=20, what="OPEN"
    )
    alice_page.click("#kill-switch")
    alice_page.click("#kill-confirm button[value=cancel]")
    assert TradingAccount.objects.get(pk=traders.pk).status == TradingAccount.Status.ACTIVE
    alice_page.click("#kill-switch")
    alice_page.fill("#kill-confirm input[name=reason]", "browser test")
    alice_page.click("#kill-confirm-button")

    # then the account is halted and its open order cancelled, on the page and in the database
    expect(alice_page.locator("#acct-status")).to_have_text("halted", timeout=10_000)
    expect(alice_page.locator(f'#orders tr[data-order-id="{resting.pk}"]')).to_have_attribute(
        "data-status", "CANCELLED", timeout=10_000
    )
    assert TradingAccount.objects.get(pk=traders.pk).status_reason == "browser test"

    # and bob, whose page was open all along, never saw any of alice's orders or positions
    expect(bob_page.locator("#account-state")).to_have_attribute("data-state", "live")
    assert bob_page.locator("#orders tbody tr").count() == 0
    assert bob_page.locator("#positions tbody tr").count() == 0
    assert bob_page.locator("#acct-status").inner_text() == "active"
    assert alice_page.errors == [] and bob_page.errors == []


def test_the_page_recovers_its_streams_when_the_web_process_restarts(stack, chromium, traders, alice):
    Instrument.objects.create(instrument_token=5_000_002, tradingsymbol="QUIETCO", exchange="NSE", segment="NSE")
    # given alice's trade page live on a simulated feed
    stack.web()
    stack.feed(FEED="simulated", FEED_ALWAYS_OPEN="true", FEED_TICKS_PER_SECOND="5")
    page = logged_in_page(chromium, stack.base_url, "alice")
    chart, market_state = page.locator("#chart"), page.locator("#market-state")
    expect(market_state).to_have_attribute("data-state", "live", timeout=20_000)
    page.wait_for_function("() => Number(document.querySelector('#chart').dataset.liveUpdates) >= 3", timeout=30_000)

    # and she adds an instrument that has no price yet, so the page's starting list does not carry it
    page.fill("#search", "quietco")
    expect(page.locator("#search-results [role=option]").first).to_contain_text("QUIETCO")
    page.press("#search", "Enter")
    expect(page.locator("#watchlist tbody")).to_contain_text("QUIETCO")
    # (choosing it charts it; she goes back to the ticking instrument)
    expect(page.locator("#chart-title")).to_have_text("QUIETCO")
    page.click(f'#watchlist tr[data-token="{TOKEN}"] .sym')
    expect(page.locator("#chart")).to_have_attribute("data-token", str(TOKEN))

    # when the web process stops, and an order is placed meanwhile
    stack.stop("web")
    expect(market_state).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    expect(page.locator("#account-state")).to_have_attribute("data-state", "reconnecting", timeout=10_000)
    instrument = Instrument.objects.get(instrument_token=TOKEN)
    missed = order_place(
        account=traders,
        instrument=instrument,
        transaction_type="BUY",
        order_type="LIMIT",
        product="CNC",
        quantity=3,
        price=D("990.00"),
        placed_by=alice,
    )
    updates_before = int(chart.get_attribute("data-live-updates"))

    # and comes back on the same port
    stack.web()

    # then the page reconnects both streams by itself, ticks flow again and it reads what it missed
    expect(market_state).to_have_attribute("data-connects", "2", timeout=20_000)
    expect(market_state).to_have_attribute("data-state", "live")
    expect(page.locator("#account-state")).to_have_attribute("data-connects", "2", timeout=20_000)
    page.wait_for_function(
        f"() => Number(document.querySelector('#chart').dataset.liveUpdates) >= {updates_before + 3}", timeout=30_000
    )
    row = page.locator(f'#orders tr[data-order-id="{missed.pk}"]')
    expect(row).to_be_visible(timeout=10_000)

    # and events after the restart arrive live again
    order_cancel(order=missed, cancelled_by=alice, reason="browser test")
    expect(row).to_have_attribute("data-status", "CANCELLED", timeout=10_000)

    # and after a reload her watchlist still has the instrument she added
    page.reload()
    expect(page.locator("#watchlist tbody")).to_contain_text("QUIETCO", timeout=10_000)
    assert page.errors == []
