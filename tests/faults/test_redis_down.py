"""Redis stopped for a minute (FAULT_REDIS_SECONDS) and started again, empty, under load."""

import os
import time

from django.utils import timezone

from tests.faults.conftest import report
from tests.faults.load import OrderLoad, settle
from tests.faults.streams import AccountWatcher, MarketWatcher

OUTAGE_SECONDS = float(os.environ.get("FAULT_REDIS_SECONDS", "60"))


def test_redis_down_for_a_minute_loses_no_order_and_everything_reconnects(site):
    since = timezone.now()
    infy = site.ids["instruments"]["INFY"]["token"]
    watcher = MarketWatcher(site.url, [infy])
    orders_stream = AccountWatcher(site.url, watcher.cookie)
    load = OrderLoad(site, account=site.ids["kite"], instrument_token=infy, price="1450.00").start()
    try:
        assert watcher.first_tick_after(time.monotonic() - 1, timeout=30) is not None, "no tick before the fault"
        time.sleep(3)
        site.redis.stop()
        down_at = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        during = dict(load.answers)
        site.redis.start()
        back_at = time.monotonic()
        first_tick = watcher.first_tick_after(back_at, timeout=60)
        first_order_event = orders_stream.first_tick_after(back_at, timeout=60)
        ready = site.wait_ready(timeout=60)
        time.sleep(5)
    finally:
        load.stop()
        watcher.close()
        orders_stream.close()
    figures, submitted_in = settle(site, load, since, broker="kite")
    figures.update(
        outage_seconds=round(back_at - down_at, 1),
        answers_by_end_of_outage=during,
        seconds_to_first_tick_after_return=None if first_tick is None else round(first_tick, 1),
        seconds_to_first_order_event_after_return=None if first_order_event is None else round(first_order_event, 1),
        websocket_connections={"market": watcher.connections, "account": orders_stream.connections},
        seconds_to_ready_after_return=round(ready, 1),
        seconds_to_submit_all_after_load=round(submitted_in, 1),
    )
    report("Redis stopped and started again", figures)
    assert figures["answers"].get("500", 0) == 0, "a request failed with 500 while Redis was away"
    assert figures["retry_after_missing"] == 0, "a 503 came without Retry-After"
    assert figures["orders_lost"] == 0
    assert figures["orders_duplicated"] == 0
    assert first_order_event is not None, "order events did not reach the account stream after the return"
    assert first_tick is not None, "the market stream did not come back after Redis returned"
    alive = {name: p.poll() is None for name, p in site.processes.children.items()}
    assert all(alive.values()), f"a process died with Redis away: {alive}"


FROZEN_SECONDS = 20


def test_redis_frozen_with_its_port_open_holds_nothing_up_for_long_and_loses_no_order(site):
    """SIGSTOP: connections hang instead of being refused. Every Redis call in the site has a timeout,
    so requests answer (201, or 503 with Retry-After) instead of hanging, and nothing is lost."""
    since = timezone.now()
    infy = site.ids["instruments"]["INFY"]["token"]
    watcher = MarketWatcher(site.url, [infy])
    load = OrderLoad(site, account=site.ids["kite"], instrument_token=infy, price="1450.00", timeout=10).start()
    try:
        time.sleep(3)
        site.redis.freeze()
        frozen_at = time.monotonic()
        time.sleep(FROZEN_SECONDS)
        during = dict(load.answers)
        site.redis.thaw()
        back_at = time.monotonic()
        first_tick = watcher.first_tick_after(back_at, timeout=60)
        time.sleep(5)
    finally:
        site.redis.thaw()
        load.stop()
        watcher.close()
    figures, submitted_in = settle(site, load, since, broker="kite")
    figures.update(
        frozen_seconds=round(back_at - frozen_at, 1),
        answers_by_end_of_freeze=during,
        seconds_to_first_tick_after_thaw=None if first_tick is None else round(first_tick, 1),
        seconds_to_submit_all_after_load=round(submitted_in, 1),
    )
    report("Redis frozen (SIGSTOP), then thawed", figures)
    assert figures["answers"].get("500", 0) == 0, "a request failed with 500 while Redis was frozen"
    assert figures["retry_after_missing"] == 0
    assert sum(v for k, v in during.items() if k in ("201", "503")) > 0, "no request was answered while frozen"
    assert figures["answers"].get("error", 0) == 0, "a request hung past the client's 10 s timeout"
    assert figures["orders_lost"] == 0
    assert figures["orders_duplicated"] == 0
    assert first_tick is not None, "the market stream did not come back after Redis thawed"
    alive = {name: p.poll() is None for name, p in site.processes.children.items()}
    assert all(alive.values()), f"a process died with Redis frozen: {alive}"
