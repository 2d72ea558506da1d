"""Reconciliation with Kite's order book: what Kite did while its updates did not reach us (an outage,
a lost postback) is applied from `orders()`, through the same idempotent update path as postbacks.

Run by beat (`trading.tasks.kite_reconcile`) for every account with a live Kite session. Orders at Kite
that the platform does not know are recorded for review (`kite.order_unknown`); adopting them, and
comparing positions and holdings against a tolerance, come next.
"""

import logging

import requests
from kiteconnect import exceptions as kite_errors

from audit.services import audit_record

from .brokers.kite import KiteBroker, kite_tag
from .kite import kite_client, kite_session_live
from .kite_updates import UpdateRefused, kite_order_update
from .models import KiteLink, Order

logger = logging.getLogger(__name__)


def kite_reconcile(link: KiteLink) -> dict:
    """Apply Kite's view of every order of this account; returns counts of what was found and done."""
    if not kite_session_live(link):
        return {"skipped": "no live Kite session"}
    try:
        rows = kite_client(link).orders()
    except (kite_errors.KiteException, requests.RequestException) as exc:
        logger.warning("Kite reconciliation of account %s failed: %s", link.account_id, exc)
        return {"error": str(exc)}
    ours = {
        order.broker_order_id: order
        for order in Order.objects.filter(account_id=link.account_id).exclude(broker_order_id="")
    }
    by_tag = {kite_tag(order): order for order in Order.objects.filter(account_id=link.account_id, broker_order_id="")}
    outcome = {"orders": len(rows), "updated": 0, "unknown": 0}
    for row in rows:
        kite_order_id = str(row.get("order_id", ""))
        order = ours.get(kite_order_id) or by_tag.get(row.get("tag") or "")
        if order is None:
            outcome["unknown"] += 1
            audit_record(
                action="kite.order_unknown",
                actor="system:reconcile",
                object_type="kite_order",
                object_id=kite_order_id[:64],
                payload={
                    "account": link.account_id,
                    "tradingsymbol": row.get("tradingsymbol"),
                    "status": row.get("status"),
                },
            )
            continue
        if not order.broker_order_id:  # placed, but the answer was lost: adopt Kite's id first
            KiteBroker.accepted(order, kite_order_id)
            order.refresh_from_db()
        try:
            done = kite_order_update(order=order, update=row, source="reconcile")
        except UpdateRefused:
            continue  # already applied (or a newer state is)
        if done != "nothing new":
            outcome["updated"] += 1
            audit_record(
                action="kite.reconciled",
                actor="system:reconcile",
                object_type="order",
                object_id=order.pk,
                payload={"kite_order_id": kite_order_id, "applied": done},
            )
    return outcome
