"""PostgreSQL stopped and started again under load (every session cut, as a failover or restart does)."""

import os
import time

from django.utils import timezone

from tests.faults.conftest import report
from tests.faults.load import OrderLoad, settle
from tests.faults.streams import AccountWatcher, MarketWatcher

DOWN_SECONDS = float(os.environ.get("FAULT_POSTGRES_SECONDS", "15"))


def test_postgres_restarted_under_load_answers_503_and_recovers_without_restarts(site):
    since = timezone.now()
    pids = {name: process.pid for name, process in site.processes.children.items()}
    infy = site.ids["instruments"]["INFY"]["token"]
    watcher = MarketWatcher(site.url, [infy])
    orders_stream = AccountWatcher(site.url, watcher.cookie)
    load = OrderLoad(site, account=site.ids["kite"], instrument_token=infy, price="1450.00").start()
    try:
        time.sleep(4)
        site.postgres.stop("fast")
        down_at = time.monotonic()
        time.sleep(DOWN_SECONDS)
        site.postgres.start()
        back_at = time.monotonic()
        ready = site.wait_ready(timeout=60)
        before = load.answers["201"]
        deadline = time.monotonic() + 60
        while load.answers["201"] == before and time.monotonic() < deadline:
            time.sleep(0.1)
        placing_again = time.monotonic() - back_at
        first_tick = watcher.first_tick_after(back_at, timeout=60)
        first_order_event = orders_stream.first_tick_after(back_at, timeout=60)
        time.sleep(5)
    finally:
        load.stop()
        watcher.close()
        orders_stream.close()
    figures, submitted_in = settle(site, load, since, broker="kite")
    figures.update(
        down_seconds=round(back_at - down_at, 1),
        seconds_to_ready_after_return=round(ready, 1),
        seconds_to_first_order_accepted_after_return=round(placing_again, 1),
        seconds_to_first_tick_after_return=None if first_tick is None else round(first_tick, 1),
        seconds_to_first_order_event_after_return=None if first_order_event is None else round(first_order_event, 1),
        websocket_connections={"market": watcher.connections, "account": orders_stream.connections},
        seconds_to_submit_all_after_load=round(submitted_in, 1),
    )
    report("PostgreSQL restarted", figures)
    assert figures["answers"].get("500", 0) == 0, "a request failed with 500 while PostgreSQL was away"
    assert figures["answers"].get("503", 0) > 0, "no request met the outage: the scenario tested nothing"
    assert figures["retry_after_missing"] == 0, "a 503 came without Retry-After"
    assert figures["orders_lost"] == 0
    assert figures["orders_duplicated"] == 0
    assert placing_again < 30
    assert first_order_event is not None, "order events did not reach the account stream after the return"
    assert first_tick is not None, "prices did not come back after PostgreSQL returned"
    now = {name: process.pid for name, process in site.processes.children.items()}
    alive = {name: process.poll() is None for name, process in site.processes.children.items()}
    assert now == pids and all(alive.values()), f"processes restarted or died: {pids} -> {now}, alive {alive}"
