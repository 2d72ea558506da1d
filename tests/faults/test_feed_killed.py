"""The feed SIGKILLed and started again while prices stream and a paper order rests."""

import os
import signal
import time
from datetime import timedelta

from django.utils import timezone

from tests.faults.conftest import report

DOWN_SECONDS = 8


def order_of(site, order_id: int) -> dict:
    return site.api().get(f"{site.url}/api/v1/orders/{order_id}", timeout=10).json()


def test_a_killed_feed_restarts_without_duplicate_or_missing_bars_and_fills_on_the_first_crossing_tick(site):
    infy = site.ids["instruments"]["INFY"]
    started = timezone.now()
    site.prices.prices[infy["token"]] = 1500.0
    body = {"account": site.ids["paper"], "instrument_token": infy["token"], "transaction_type": "BUY"}
    body.update(order_type="LIMIT", product="CNC", quantity=3, price="1499.00")
    placed = site.api().post(f"{site.url}/api/v1/orders", json=body, timeout=10)
    assert placed.status_code == 201, placed.text
    order_id = placed.json()["id"]
    deadline = time.monotonic() + 30
    while order_of(site, order_id)["status"] != "OPEN" and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(3)
    assert order_of(site, order_id)["status"] == "OPEN", "the order should rest above the market"

    # The downtime straddles a minute's end, so the bars on both sides of it are checked.
    while not 50 <= timezone.now().second < 55:
        time.sleep(0.2)
    feed = site.processes.children.pop("feed")
    os.killpg(feed.pid, signal.SIGKILL)
    feed.wait()
    killed_at = timezone.now()
    # While no feed listens, the market moves through the order's price.
    site.prices.prices[infy["token"]] = 1498.50
    time.sleep(DOWN_SECONDS)
    site.start("feed")
    restarted_at = time.monotonic()
    deadline = restarted_at + 60
    while order_of(site, order_id)["status"] != "COMPLETE" and time.monotonic() < deadline:
        time.sleep(0.1)
    filled_after = time.monotonic() - restarted_at
    order = order_of(site, order_id)
    time.sleep(2)  # a flush of the restarted feed's bars
    ended = timezone.now()

    rows = site.sql(
        "SELECT ts, volume FROM trading_minutebar WHERE instrument_id = %s AND ts >= %s ORDER BY ts",
        [infy["id"], started.replace(second=0, microsecond=0)],
    )
    # The most a minute can have traded: every frame of it, each adding volume_step to the day's volume.
    most = int(60 / site.prices.interval * site.prices.volume_step * 1.1)
    overcounted = [(ts, volume) for ts, volume in rows if volume > most]
    minutes = [ts for ts, _ in rows]
    gaps = [(a, b) for a, b in zip(minutes, minutes[1:], strict=False) if b - a > timedelta(minutes=1)]
    # A minute may be missing only if the feed was down for all of it.
    unexplained = [(a, b) for a, b in gaps if not (a + timedelta(minutes=1) >= killed_at.replace(second=0))]
    fills = site.api().get(f"{site.url}/api/v1/trades", params={"account": site.ids["paper"]}, timeout=10).json()
    trades = [t for t in fills.get("results", fills) if t["order"] == order_id]
    report(
        "feed SIGKILLed and restarted",
        {
            "down_seconds": DOWN_SECONDS,
            "seconds_from_restart_to_fill": round(filled_after, 1),
            "order_status": order["status"],
            "fill_prices": [t["price"] for t in trades],
            "bar_minutes": len(minutes),
            "bar_volumes": [volume for _, volume in rows],
            "most_volume_a_minute_can_hold": most,
            "bar_gaps": [(str(a), str(b)) for a, b in gaps],
            "window": [str(started), str(ended)],
        },
    )
    assert order["status"] == "COMPLETE", f"the resting order did not fill after the feed came back: {order}"
    assert sum(t["quantity"] for t in trades) == 3, f"filled more or less than once: {trades}"
    assert filled_after < 45
    assert not overcounted, f"a minute holds more volume than was traded in it (counted twice): {overcounted}"
    assert rows[-1][1] > 0, "the restarted feed builds no volume"
    assert not unexplained, f"bars missing beyond the downtime: {unexplained}"
    assert len(minutes) >= 2, "the downtime should straddle a minute's end"
    assert minutes and minutes[-1] >= (ended - timedelta(minutes=1)).replace(second=0, microsecond=0)
