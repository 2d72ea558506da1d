"""Reconciliation with Kite: its orders, trades, positions and holdings against the platform's books.

Run when the day's Kite session starts (the login callback), by beat every minute
(`trading.tasks.kite_reconcile`) and when the Kite feed starts, for every account with a live session:

- Kite's order book is applied through the same idempotent update path as postbacks, so what happened
  while updates did not reach us (an outage, a lost postback, a dropped websocket) is booked once.
- An order placed but whose answer was lost takes Kite's id (matched by its tag).
- An order Kite has that the platform never placed (from Kite's own apps, say) is adopted: recorded as
  an order of the account, flagged `adopted`, its fills booked, and audited.
- Then the books are compared: each of today's orders' filled quantity against Kite's trades, and net
  quantities per instrument and product against Kite's positions and holdings (CNC: holdings, T1
  included, plus today's CNC position; MIS and NRML: the net position). A difference beyond
  KITE_RECONCILE_TOLERANCE, still there when looked at again a moment later (a fill landing between
  the calls is not a mismatch), halts the account (fail closed: no new orders until someone resumes it) and
  is shown on the Kite page and the trade page. Working orders are left alone: whose books are wrong is
  for a person to judge, and cancelling at Kite could make it worse.
"""

import logging
import time
from collections import defaultdict
from decimal import Decimal

import requests
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from kiteconnect import exceptions as kite_errors

from audit.models import AuditEvent
from audit.services import audit_record
from trading.kite.client import kite_client, kite_session_live
from trading.kite.updates import KiteTrade, UpdateRefused, kite_order_update, kite_tag, trades_from_kite
from trading.models import Instrument, KiteLink, Order, Position, TradingAccount
from trading.orders import accounts, services, states
from tradingsite.ist import ist_day_start

logger = logging.getLogger(__name__)
ACTOR = "system:reconcile"
# pg_advisory_lock's first key: reconciliation's own namespace (the second is the link's id).
LOCK_NAMESPACE = 4_177_001


def kite_reconcile(link: KiteLink) -> dict:
    """Bring this account's books in line with Kite's; returns what was found and done. One run per
    link at a time (login, beat and the feed may start one together): a second finds it running."""
    if not kite_session_live(link):
        return {"skipped": "no live Kite session"}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_NAMESPACE, link.pk])
        if not cursor.fetchone()[0]:
            return {"skipped": "a reconciliation of this account is already running"}
    try:
        return reconcile_locked(link)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_NAMESPACE, link.pk])


def kite_reconcile_all() -> None:
    """Every account with a Kite session: apply what Kite did that its updates did not tell us."""
    for link in KiteLink.objects.exclude(access_token_encrypted=""):
        try:
            kite_reconcile(link)  # skips a link whose session has ended
        except Exception:  # one account's trouble must not keep the others from being reconciled
            logger.exception("Kite reconciliation of account %s failed", link.account_id)


def reconcile_locked(link: KiteLink) -> dict:
    client = kite_client(link)
    outcome: dict = {}
    for attempt in range(2):
        try:
            rows = client.orders()
            trade_rows = client.trades()
            positions = client.positions()
            holdings = client.holdings()
        except (kite_errors.KiteException, requests.RequestException) as exc:
            logger.warning("Kite reconciliation of account %s failed: %s", link.account_id, exc)
            return {"error": str(exc)}
        trades = trades_from_kite(trade_rows)
        found = orders_reconcile(link, rows, trades)
        for name, count in found.items():
            if name == "orders":
                outcome[name] = count
            elif name == "errors":
                outcome[name] = outcome.get(name, []) + count
            else:
                outcome[name] = outcome.get(name, 0) + count
        problems = fills_compare(link.account, trade_rows) + positions_compare(link.account, positions, holdings)
        if not problems:
            break
        if attempt == 0:  # a fill landing between the calls looks like a mismatch: look again first
            time.sleep(settings.KITE_RECONCILE_RECHECK_SECONDS)
    outcome["problems"] = problems
    report_store(link, outcome)
    if problems:
        halt(link.account, problems)
    return outcome


def orders_reconcile(link: KiteLink, rows: list[dict], trades: list[KiteTrade]) -> dict:
    """Each of Kite's orders on its own: one that cannot be applied is reported in `errors`, and the rest
    are still applied."""
    # One read of the account's orders for both maps: an order accepted between two reads would be in
    # neither and be adopted a second time.
    account_orders = list(Order.objects.filter(account_id=link.account_id))
    ours = {order.broker_order_id: order for order in account_orders if order.broker_order_id}
    by_tag = {kite_tag(order): order for order in account_orders if not order.broker_order_id}
    by_order: dict[str, list[KiteTrade]] = defaultdict(list)
    for trade in trades:
        by_order[trade.order_id].append(trade)
    outcome = {"orders": len(rows), "updated": 0, "adopted": 0, "unknown": 0, "errors": []}
    for row in rows:
        kite_order_id = str(row.get("order_id", ""))
        try:
            order = ours.get(kite_order_id) or by_tag.get(row.get("tag") or "")
            if order is None:
                order = order_adopt(link.account, row)
                if order is None:
                    outcome["unknown"] += 1
                    continue
                outcome["adopted"] += 1
            try:
                done = kite_order_update(
                    order=order, update=row, source="reconcile", trades=by_order.get(kite_order_id, [])
                )
            except UpdateRefused:
                continue  # already applied (or a newer state is)
        except Exception as exc:  # one order's trouble must not stop the others, nor the report
            logger.exception("reconciliation of Kite order %s failed", kite_order_id)
            outcome["errors"].append(f"Kite order {kite_order_id}: {type(exc).__name__}: {exc}"[:300])
            continue
        if done.startswith("not applied"):
            outcome["errors"].append(f"Kite order {kite_order_id}: {done}"[:300])
        if done != "nothing new" and not done.startswith("not applied"):
            outcome["updated"] += 1
            audit_record(
                action="kite.reconciled",
                actor=ACTOR,
                object_type="order",
                object_id=order.pk,
                payload={"kite_order_id": kite_order_id, "applied": done},
            )
    outcome["expired"] = day_orders_expire(account_orders, {str(row.get("order_id", "")) for row in rows})
    return outcome


def day_orders_expire(account_orders: list[Order], at_kite_today: set[str]) -> int:
    """Kite's order book holds only today's orders: a DAY order from an earlier day that is still live
    here ended with its day at Kite (its last update was missed). Returns how many were ended here."""
    start = ist_day_start()
    expired = 0
    for order in account_orders:
        if (
            order.is_live
            and order.broker_order_id
            and order.broker_order_id not in at_kite_today
            and order.validity == Order.Validity.DAY
            and order.created_at < start
        ):
            try:
                services.order_cancel(
                    order=order, reason="ended with its trading day at Kite (not in today's order book)", by_broker=True
                )
            except states.IllegalTransition:
                continue  # ended since it was read
            expired += 1
    return expired


def order_adopt(account: TradingAccount, row: dict) -> Order | None:
    """Record an order placed at Kite outside the platform; its fills follow through the update path.
    None (and an audit record) when it cannot be represented: an instrument not in the master, or terms
    the platform does not know."""
    kite_order_id = str(row.get("order_id", ""))
    instrument = Instrument.objects.filter(
        exchange=row.get("exchange", ""), tradingsymbol=row.get("tradingsymbol", "")
    ).first()
    known = (
        row.get("transaction_type") in Order.TransactionType.values
        and row.get("order_type") in Order.OrderType.values
        and row.get("product") in Order.Product.values
        and int(row.get("quantity") or 0) > 0
    )
    if instrument is None or not known:
        if AuditEvent.objects.filter(
            object_type="kite_order", object_id=kite_order_id[:64], action="kite.order_unknown"
        ).exists():
            return None  # recorded at an earlier reconciliation: once is enough, not every minute
        audit_record(
            action="kite.order_unknown",
            actor=ACTOR,
            object_type="kite_order",
            object_id=kite_order_id[:64],
            payload={
                "account": account.pk,
                "exchange": row.get("exchange"),
                "tradingsymbol": row.get("tradingsymbol"),
                "status": row.get("status"),
                "why": "instrument not in the master" if instrument is None else "terms the platform does not take",
            },
        )
        return None

    def price(name: str) -> Decimal | None:
        value = row.get(name)
        return Decimal(str(value)) if value not in (None, "", 0, 0.0) else None

    trigger_price = price("trigger_price")
    with transaction.atomic():
        order = Order.objects.create(
            account=account,
            instrument=instrument,
            variety=row.get("variety") or "regular",
            exchange=instrument.exchange,
            tradingsymbol=instrument.tradingsymbol,
            transaction_type=row["transaction_type"],
            order_type=row["order_type"],
            product=row["product"],
            validity=row.get("validity") if row.get("validity") in Order.Validity.values else Order.Validity.DAY,
            quantity=int(row["quantity"]),
            price=price("price"),
            trigger_price=trigger_price,
            tag=str(row.get("tag") or "")[:20],
            status=Order.Status.TRIGGER_PENDING if trigger_price else Order.Status.OPEN,
            pending_quantity=int(row["quantity"]),
            broker_order_id=kite_order_id,
            adopted=True,
        )
        audit_record(
            action="kite.order_adopted",
            actor=ACTOR,
            object_type="order",
            object_id=order.pk,
            payload={"kite_order_id": kite_order_id, "tradingsymbol": order.tradingsymbol, "status": row.get("status")},
        )
    return order


def fills_compare(account: TradingAccount, trades: list[dict]) -> list[str]:
    """Today's orders: the quantity Kite traded against the quantity booked here."""
    traded = defaultdict(int)
    for trade in trades:
        traded[str(trade.get("order_id", ""))] += int(trade.get("quantity") or 0)
    problems = []
    today = Order.objects.filter(account=account, created_at__gte=ist_day_start()).exclude(broker_order_id="")
    for order in today.order_by("pk"):
        theirs = traded.get(order.broker_order_id, 0)
        if abs(theirs - order.filled_quantity) > settings.KITE_RECONCILE_TOLERANCE:
            problems.append(
                f"order {order.pk} ({order.tradingsymbol}, Kite {order.broker_order_id}): "
                f"{order.filled_quantity} filled here, {theirs} traded at Kite"
            )
    return problems


def positions_compare(account: TradingAccount, positions: dict, holdings: list[dict]) -> list[str]:
    theirs: dict[tuple[str, str, str], int] = defaultdict(int)
    for holding in holdings:
        key = (holding.get("exchange", ""), holding.get("tradingsymbol", ""), "CNC")
        theirs[key] += int(holding.get("quantity") or 0) + int(holding.get("t1_quantity") or 0)
    for row in positions.get("day", []):
        if row.get("product") == "CNC":
            theirs[(row.get("exchange", ""), row.get("tradingsymbol", ""), "CNC")] += int(row.get("quantity") or 0)
    for row in positions.get("net", []):
        if row.get("product") != "CNC":
            key = (row.get("exchange", ""), row.get("tradingsymbol", ""), row.get("product", ""))
            theirs[key] += int(row.get("quantity") or 0)
    ours = {
        (p.instrument.exchange, p.instrument.tradingsymbol, p.product): p.quantity
        for p in Position.objects.filter(account=account).select_related("instrument")
    }
    problems = []
    for key in sorted(set(theirs) | set(ours)):
        here, there = ours.get(key, 0), theirs.get(key, 0)
        if abs(here - there) > settings.KITE_RECONCILE_TOLERANCE:
            exchange, symbol, product = key
            problems.append(f"{exchange}:{symbol} {product}: {here} here, {there} at Kite")
    return problems


def report_store(link: KiteLink, outcome: dict) -> None:
    now = timezone.now()
    KiteLink.objects.filter(pk=link.pk).update(reconciled_at=now, reconcile_report=outcome, updated_at=now)
    link.reconciled_at, link.reconcile_report = now, outcome


def halt(account: TradingAccount, problems: list[str]) -> None:
    account.refresh_from_db()
    audit_record(
        action="kite.reconcile_mismatch",
        actor=ACTOR,
        object_type="account",
        object_id=account.pk,
        payload={"problems": problems, "tolerance": settings.KITE_RECONCILE_TOLERANCE},
    )
    if account.status == TradingAccount.Status.HALTED:
        return
    reason = f"Kite reconciliation: {'; '.join(problems)}"
    if len(reason) > 255:
        reason = reason[:252] + "..."
    accounts.account_status_set(account=account, status=TradingAccount.Status.HALTED, reason=reason, actor=ACTOR)
