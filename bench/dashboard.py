"""The trader's page load in headless Chromium (Debian's, driven by Playwright) on localhost.

Starts the web process and a simulated feed on a throwaway database with the NIFTY 50 demo seed, a
trader with 20 orders and some fills, logs in, then loads /trade/ several times with a cold cache and
measures: time to the load event, time until the first live price is on the page (the market
websocket's first quote shown on the chart's instrument), time until the page is usable (chart drawn
from the bars API, blotter and positions filled, both websockets live), and the bytes sent by the
server (compressed transfer sizes of every response). The usable and first-price times are held to
the target of under 1 s. Prints one JSON object.
"""

import json
import os
import statistics
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

PREFIX = django_start("page", OUTBOX_DISPATCH="sweep")

from django.utils import timezone  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tradingsite.processes import Processes, shared_env, static_collect  # noqa: E402

LOADS = int(os.environ.get("BENCH_PAGE_LOADS", "5"))
PASSWORD = "bench-password-123"
TARGET_MS = 1000.0
CHROMIUM = "/usr/bin/chromium"
READY = """() => {
  const chart = document.querySelector('#chart');
  return chart && Number(chart.dataset.bars) > 0
    && document.querySelectorAll('#orders tbody tr').length > 0
    && document.querySelector('#market-state').dataset.state === 'live'
    && document.querySelector('#account-state').dataset.state === 'live';
}"""
FIRST_PRICE = "() => Boolean(document.querySelector('#chart') && document.querySelector('#chart').dataset.lastPrice)"


def fixtures() -> None:
    from trading.brokers.dispatch import outbox_sweep
    from trading.market.bars import BarBuilder, bars_write
    from trading.market.instruments import instruments_seed_demo
    from trading.models import Instrument
    from trading.orders.accounts import account_create
    from trading.orders.services import order_place
    from tradingsite.roles import TRADER, user_create

    instruments_seed_demo()
    user = user_create(username="bench-page", password=PASSWORD, roles={TRADER})
    account = account_create(owner=user, name="bench", cash=Decimal("100000000"))
    first = Instrument.objects.order_by("tradingsymbol").first()
    # a day of minute bars for the chart
    builder, now = BarBuilder(), timezone.now()
    for minute in range(375):
        price = first.last_price + Decimal(minute % 40) / 4
        builder.add(first.pk, price, 100, now - timedelta(minutes=375 - minute))
    bars_write(builder.drain())
    for n, instrument in enumerate(Instrument.objects.order_by("tradingsymbol")[:20]):
        order_type = "MARKET" if n % 2 else "LIMIT"
        price = None if order_type == "MARKET" else instrument.last_price * Decimal("0.99")
        if price is not None:
            price = (price / instrument.tick_size).quantize(Decimal("1")) * instrument.tick_size
        order_place(
            account=account,
            instrument=instrument,
            transaction_type="BUY",
            order_type=order_type,
            product="CNC",
            quantity=1,
            price=price,
            placed_by=user,
        )
    outbox_sweep(min_age_seconds=0)


def main() -> None:
    with bench_run() as stack:
        fixtures()
        work = Path(tempfile.mkdtemp(prefix="bench-page-"))
        static_root = static_collect(work / "static")
        processes = Processes(shared_env(PREFIX, STATIC_ROOT=str(static_root)), work / "logs")
        stack.callback(processes.close)
        processes.web()
        processes.feed(FEED="simulated", FEED_ALWAYS_OPEN="true")
        loads, usable, priced, sent, requests_made = [], [], [], [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
            )
            context = browser.new_context(base_url=processes.base_url)
            page = context.new_page()
            page.goto("/accounts/login/?next=/")
            page.fill("#id_username", "bench-page")
            page.fill("#id_password", PASSWORD)
            page.click("input[type=submit]")
            page.wait_for_url("**/")
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            for _ in range(LOADS + 1):  # the first load warms the server; it is not counted
                transferred = {"bytes": 0, "requests": 0}

                def finished(event, transferred=transferred):
                    transferred["bytes"] += int(event.get("encodedDataLength", 0))
                    transferred["requests"] += 1

                cdp.on("Network.loadingFinished", finished)
                start = time.perf_counter()
                page.goto("/trade/", wait_until="load")
                loaded = time.perf_counter()
                page.wait_for_function(FIRST_PRICE, timeout=30_000, polling="raf")
                first_price = time.perf_counter()
                page.wait_for_function(READY, timeout=30_000)
                ready = time.perf_counter()
                page.wait_for_timeout(300)  # let the last responses finish for the byte count
                cdp.remove_listener("Network.loadingFinished", finished)
                loads.append((loaded - start) * 1000)
                usable.append((ready - start) * 1000)
                priced.append((first_price - start) * 1000)
                sent.append(transferred["bytes"])
                requests_made.append(transferred["requests"])
            browser.close()
        loads, usable, priced = loads[1:], usable[1:], priced[1:]
        sent, requests_made = sent[1:], requests_made[1:]
        print(
            json.dumps(
                {
                    "bench": "trader_page",
                    "loads": LOADS,
                    "load_event_ms_median": round(statistics.median(loads), 1),
                    "usable_ms_median": round(statistics.median(usable), 1),
                    "usable_ms_max": round(max(usable), 1),
                    "first_price_ms_median": round(statistics.median(priced), 1),
                    "first_price_ms_max": round(max(priced), 1),
                    "bytes_sent_median": int(statistics.median(sent)),
                    "requests_median": int(statistics.median(requests_made)),
                    "target_ms": TARGET_MS,
                    "target_met": max(usable) < TARGET_MS and max(priced) < TARGET_MS,
                }
            )
        )


if __name__ == "__main__":
    main()
