"""The web process SIGKILLed while orders are in flight; clients send them again with their keys."""

import os
import signal
import time

from django.utils import timezone

from tests.faults.conftest import report
from tests.faults.load import OrderLoad, settle


def test_web_killed_with_orders_in_flight_places_each_order_once(site):
    since = timezone.now()
    infy = site.ids["instruments"]["INFY"]["token"]
    load = OrderLoad(site, account=site.ids["kite"], instrument_token=infy, price="1450.00", clients=4, interval=0.05)
    load.start()
    kills = []
    try:
        for _ in range(3):
            time.sleep(3)
            before = load.answers["201"]
            web = site.processes.children.pop("web")
            os.killpg(web.pid, signal.SIGKILL)
            web.wait()
            kills.append(before)
            time.sleep(1)
            site.start("web")
        time.sleep(3)
    finally:
        load.stop()
    figures, submitted_in = settle(site, load, since, broker="kite")
    retried = sum(1 for o in load.outcomes if o.attempts > 1)
    figures.update(
        web_kills=len(kills), orders_retried=retried, seconds_to_submit_all_after_load=round(submitted_in, 1)
    )
    report("web SIGKILLed with orders in flight", figures)
    assert retried > 0, "no order was in flight at a kill: the scenario tested nothing"
    assert figures["orders_answered"] == figures["orders_tried"], "an order was never answered"
    assert figures["orders_lost"] == 0
    assert figures["orders_duplicated"] == 0
