"""A process sending orders to the broker is SIGKILLed while its calls are in flight."""

import os
import signal
import time

from django.utils import timezone

from tests.faults.conftest import report
from tests.faults.load import OrderLoad, settle


def test_a_dispatcher_killed_mid_submission_leaves_every_order_submitted_exactly_once(site):
    since = timezone.now()
    # Kite takes each order at once but answers 1.5 s later: a kill now lands between the two.
    site.kite.answer_delay_seconds = 1.5
    site.kite.next_place.extend(["delay"] * 40)
    infy = site.ids["instruments"]["INFY"]["token"]
    load = OrderLoad(site, account=site.ids["kite"], instrument_token=infy, price="1450.00").start()
    time.sleep(4)
    killed = []
    for _ in range(2):
        for name in ("dispatcher", "worker"):
            process = site.processes.children.pop(name)
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            killed.append(name)
        time.sleep(1)
        site.start("dispatcher")
        site.start("worker")
        time.sleep(3)
    load.stop()
    figures, recovery = settle(site, load, since, broker="kite")
    figures["seconds_to_submit_all"] = round(recovery, 1)
    figures["killed"] = killed
    report("worker and dispatcher SIGKILLed mid-submission", figures)
    assert figures["orders_accepted"] > 10
    assert figures["orders_lost"] == 0
    assert figures["orders_duplicated"] == 0
    assert figures["answers"].get("500", 0) == 0
