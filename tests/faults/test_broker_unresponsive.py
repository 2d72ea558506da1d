"""Kite answering slowly, then not at all, then again: the circuit breaker, the outbox, no order twice."""

import time

from django.utils import timezone

from tests.faults.conftest import report
from tests.faults.load import OrderLoad, kite_tags, settle


def waiting_reasons(site, account: int) -> list[str]:
    """What the trader's order list says about orders that have not reached Kite."""
    answer = site.api().get(f"{site.url}/api/v1/orders", params={"account": account, "limit": 200}, timeout=10)
    return [order["broker_waiting"] for order in answer.json()["results"] if order["broker_waiting"]]


def test_an_unresponsive_broker_opens_the_circuit_and_orders_wait_then_go_once(site):
    since = timezone.now()
    kite = site.ids["kite"]
    infy = site.ids["instruments"]["INFY"]["token"]
    load = OrderLoad(site, account=kite, instrument_token=infy, price="1450.00", interval=0.5).start()
    try:
        # Slow: Kite takes orders but answers after the client's 2 s timeout.
        site.kite.answer_delay_seconds = 3
        site.kite.next_place.extend(["timeout_after_accept"] * 6)
        time.sleep(8)
        # Not at all: every request hangs, and nothing is taken.
        site.kite.next_place.clear()
        site.kite.unanswered = 0
        site.kite.unresponsive_seconds = 30
        down_at = time.monotonic()
        accepted_before = len(load.accepted())
        time.sleep(25)
        reasons = waiting_reasons(site, kite)
        accepted_while_down = len(load.accepted()) - accepted_before
        calls_while_down = site.kite.unanswered
        site.kite.unresponsive_seconds = 0
        back_at = time.monotonic()
        before = sum(kite_tags(site).values())
        deadline = time.monotonic() + 60
        while sum(kite_tags(site).values()) == before and time.monotonic() < deadline:
            time.sleep(0.2)
        first_sent = time.monotonic() - back_at
    finally:
        load.stop()
        site.kite.unresponsive_seconds = 0
    figures, submitted_in = settle(site, load, since, broker="kite")
    figures.update(
        unresponsive_seconds=round(back_at - down_at, 1),
        orders_waiting_with_a_reason=len(reasons),
        a_reason=reasons[0] if reasons else "",
        seconds_from_broker_back_to_first_send=round(first_sent, 1),
        seconds_to_submit_all_after_load=round(submitted_in, 1),
        orders_accepted_while_kite_was_down=accepted_while_down,
        calls_to_kite_while_down=calls_while_down,
    )
    report("broker slow, then unresponsive", figures)
    assert any("is not answering" in reason for reason in reasons), f"no order said why it waits: {reasons[:3]}"
    # Without the circuit every order would be tried (and wait out the timeout) on every sweep; with it,
    # each process tries a few times, then once per pause (8 s here).
    assert accepted_while_down > 20
    assert calls_while_down <= 20, f"{calls_while_down} calls reached a Kite that was not answering"
    assert figures["answers"].get("500", 0) == 0
    assert figures["orders_lost"] == 0
    assert figures["orders_duplicated"] == 0
    assert first_sent < 30
    # The next scenario starts with closed circuits: these processes' circuits saw this outage.
    for name in ("dispatcher", "worker"):
        site.processes.stop(name)
