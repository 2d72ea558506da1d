"""Orders to Zerodha through the official kiteconnect client.

Every order carries a tag made from its client order id, so an order whose answer was lost (a timeout
after Kite accepted it, a dropped connection) is found by its tag before anything is sent again: an
order reaches the exchange at most once. Kite's refusals become order rejections with Kite's own
message; a lapsed session rejects with a prompt to log in again; rate limiting and network trouble
leave the order to be sent again by the outbox.
"""

import time
from datetime import datetime
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kiteconnect import exceptions as kite_errors

from trading.brokers.base import BrokerUnavailable
from trading.kite.client import kite_client, kite_session_live
from trading.kite.updates import UpdateRefused, kite_order_update, kite_tag, trades_from_kite
from trading.models import KiteLink, Order, OutboxEntry
from trading.orders import locks, services
from tradingsite.counters import members_add, members_remove
from tradingsite.ist import IST

# Kite's own protection for orders at market: -1 lets Kite apply its standard band.
MARKET_PROTECTION = -1
RETRYABLE = (kite_errors.NetworkException, requests.RequestException)


def kite_outage(exc: BaseException) -> bool:
    """Whether `exc` says Kite is out of reach, for the dispatcher's circuit breaker: no connection, a
    timeout, a 5xx or a gateway's page instead of Kite's answer. A refusal is an answer, and a rate
    limit (Kite's 429, or this account's own limit) is about one account, not Kite."""
    if isinstance(exc, BrokerUnavailable):
        exc = exc.__cause__
    if isinstance(exc, requests.RequestException):
        return True
    if isinstance(exc, kite_errors.NetworkException):
        return getattr(exc, "code", None) != 429
    return isinstance(exc, kite_errors.GeneralException | kite_errors.DataException)


class KiteBroker:
    def __init__(self, link: KiteLink):
        self.link = link
        self.client = kite_client(link)
        # Whether a call reached Kite and was answered: a send that stopped before calling Kite (the order
        # was cancelled meanwhile, this account's own rate limit) says nothing about Kite's health.
        self.answered = False
        request = self.client._request  # every call of the client goes through it (kiteconnect 5.2)

        def answered_request(*args, **kwargs):
            try:
                result = request(*args, **kwargs)
            except kite_errors.KiteException as exc:
                self.answered = self.answered or not kite_outage(exc)
                raise
            self.answered = True
            return result

        self.client._request = answered_request

    @property
    def circuit_name(self) -> str:
        return f"broker.kite.{urlsplit(settings.KITE_API_ROOT).netloc}"

    @staticmethod
    def outage(exc: BaseException) -> bool:
        return kite_outage(exc)

    def place(self, order: Order) -> None:
        if order.status != Order.Status.RECEIVED:
            return  # cancelled before it was sent, or accepted by an earlier send (or an early update)
        if not settings.KITE_ORDERS_ENABLED:
            services.order_broker_reject(
                order=order, reason="sending orders to Kite is switched off on this site (KITE_ORDERS_ENABLED)"
            )
            return
        if not kite_session_live(self.link):
            services.order_broker_reject(
                order=order, reason="the Kite session has ended (daily reset or logout): log in to Kite again"
            )
            return
        if self.sent_before(order) and self.adopt_if_at_kite(order):
            return
        if not self.within_limits(order):
            return
        current = self.as_it_is_now(order)
        if current is None:
            self.uncount(order_pk=order.pk)
            return
        order = current
        # From here the order may reach Kite even if its answer is lost: never withdrawn as unsent.
        OutboxEntry.objects.filter(order=order, action=OutboxEntry.Action.PLACE, sent_at__isnull=True).update(
            tried_at=timezone.now()
        )
        try:
            kite_order_id = self.client.place_order(**self.place_params(order))
        except kite_errors.TokenException as exc:
            services.order_broker_reject(
                order=order, reason=f"Kite no longer accepts this session ({exc}): log in again"
            )
            return
        except (kite_errors.InputException, kite_errors.OrderException, kite_errors.PermissionException) as exc:
            services.order_broker_reject(order=order, reason=f"Kite rejected the order: {exc}")
            return
        except RETRYABLE as exc:
            # The order may have reached Kite before the answer was lost: look before sending again.
            if self.adopt_if_at_kite(order):
                return
            raise BrokerUnavailable(f"Kite did not take the order ({exc}); it is sent again shortly") from exc
        self.accepted(order, kite_order_id)

    @staticmethod
    def as_it_is_now(order: Order) -> Order | None:
        """The order as it is under its lock just before it is sent (its terms may have been modified);
        None when it must not be sent: a cancel came first, so it is cancelled here, never having
        reached Kite. A cancel arriving after this finds the placement claimed and waits for Kite."""
        with transaction.atomic():
            locks.account_lock(order.account_id)
            current = locks.order_lock(order.pk)
            if current.status != Order.Status.RECEIVED:
                return None
            if current.pending_request != "cancel":
                return current
        reason = current.pending_terms.get("reason") or "cancelled before it was sent"
        services.order_cancel(order=current, reason=reason, by_broker=True)
        return None

    def within_limits(self, order: Order) -> bool:
        """Kite's per-account order limits, counted in Redis across workers. Each order counts once in a
        window however often it is retried; one held back is not counted. Past the per-second or
        per-minute limit the order waits for the outbox to send it again; past the day's, it is rejected."""
        now = time.time()
        windows = [
            (f"s:{int(now)}", 2, settings.KITE_ORDERS_PER_SECOND, "second"),
            (f"m:{int(now // 60)}", 120, settings.KITE_ORDERS_PER_MINUTE, "minute"),
            (f"d:{datetime.now(IST).date()}", 2 * 86400, settings.KITE_ORDERS_PER_DAY, "day"),
        ]
        self.windows = [(f"kite-orders:{order.account_id}:{window}", ttl) for window, ttl, _, _ in windows]
        counts = members_add(self.windows, order.pk)
        for count, (_, _, limit, per) in zip(counts, windows, strict=True):
            if count <= limit:
                continue
            self.uncount(order_pk=order.pk)
            if per == "day":
                reason = f"Kite allows {limit} orders per day per account; this account has reached it"
                services.order_broker_reject(order=order, reason=reason)
                return False
            raise BrokerUnavailable(f"Kite's limit of {limit} orders per {per} for this account: sent again shortly")
        return True

    def uncount(self, *, order_pk: int) -> None:
        members_remove([key for key, _ in self.windows], order_pk)

    def place_params(self, order: Order) -> dict:
        params = {
            "variety": order.variety,
            "exchange": order.exchange,
            "tradingsymbol": order.tradingsymbol,
            "transaction_type": order.transaction_type,
            "quantity": order.quantity,
            "product": order.product,
            "order_type": order.order_type,
            "validity": order.validity,
            "tag": kite_tag(order),
            **self.prices(order),
        }
        if order.disclosed_quantity:
            params["disclosed_quantity"] = order.disclosed_quantity
        if order.order_type in (Order.OrderType.MARKET, Order.OrderType.SLM):
            params["market_protection"] = MARKET_PROTECTION
        if settings.KITE_ALGO_ID:
            params["algo_id"] = settings.KITE_ALGO_ID
        return params

    @staticmethod
    def prices(order: Order) -> dict:
        """The limit price (LIMIT and SL orders) and the trigger price, as Kite takes them."""
        prices = {}
        if order.price is not None and order.order_type in (Order.OrderType.LIMIT, Order.OrderType.SL):
            prices["price"] = str(order.price)
        if order.trigger_price is not None:
            prices["trigger_price"] = str(order.trigger_price)
        return prices

    @staticmethod
    def sent_before(order: Order) -> bool:
        """A placement was tried before (its answer may have been lost): Kite may have the order."""
        return OutboxEntry.objects.filter(order=order, action=OutboxEntry.Action.PLACE, tried_at__isnull=False).exists()

    def adopt_if_at_kite(self, order: Order) -> bool:
        """If Kite already has an order with this order's tag, take its id instead of placing again."""
        try:
            orders = self.client.orders()
        except RETRYABLE + (kite_errors.KiteException,) as exc:
            raise BrokerUnavailable(f"Kite's order book cannot be read to check for an earlier send ({exc})") from exc
        tag = kite_tag(order)
        found = next((item for item in orders if item.get("tag") == tag or tag in (item.get("tags") or [])), None)
        if found is None:
            return False
        self.accepted(order, str(found["order_id"]))
        return True

    @staticmethod
    def accepted(order: Order, kite_order_id: str) -> None:
        status = Order.Status.TRIGGER_PENDING if order.trigger_price else Order.Status.OPEN
        services.order_broker_accept(order=order, broker_order_id=str(kite_order_id), status=status)

    def modify(self, order: Order) -> None:
        """Send the pending modification's terms; Kite's answer confirms or refuses it. Retried on
        network trouble; a refusal (the order complete, or past Kite's 25 modifications) is final and
        leaves the order as it was."""
        order = order_as_stored(order)
        if not order.broker_order_id or order.pending_request != "modify" or not order.is_live:
            return  # not at Kite (the placement carries the terms), or nothing pending any more
        terms = order.pending_terms
        params = {
            "quantity": int(terms["quantity"]),
            "order_type": terms["order_type"],
            "validity": order.validity,
        }
        if terms.get("price") is not None and terms["order_type"] in (Order.OrderType.LIMIT, Order.OrderType.SL):
            params["price"] = str(terms["price"])
        if terms.get("trigger_price") is not None:
            params["trigger_price"] = str(terms["trigger_price"])
        if self.call("modify", order, lambda: self.client.modify_order(order.variety, order.broker_order_id, **params)):
            services.order_modify_confirm(order=order, terms=terms)

    def cancel(self, order: Order) -> None:
        """Ask Kite to cancel; the order stays live with its cancel pending until Kite's update says
        CANCELLED. When Kite refuses (it filled first, say), the order is read back from Kite at once so
        what happened to it is booked."""
        order = order_as_stored(order)
        if not order.broker_order_id or order.pending_request != "cancel":
            return  # never reached Kite, or the cancel is settled already
        if not self.call("cancel", order, lambda: self.client.cancel_order(order.variety, order.broker_order_id)):
            self.sync(order)

    def sync(self, order: Order) -> str:
        """Read the order and its trades back from Kite and apply them, as an update would."""
        try:
            history = self.client.order_history(order.broker_order_id)
            trades = trades_from_kite(self.client.order_trades(order.broker_order_id))
        except RETRYABLE + (kite_errors.KiteException,) as exc:
            return f"Kite's state of the order could not be read ({exc}); reconciliation will"
        if not history:
            return "Kite has no history of the order"
        try:
            return kite_order_update(order=order, update=history[-1], source="broker", trades=trades)
        except UpdateRefused as exc:
            return f"not applied: {exc}"

    @staticmethod
    def call(action: str, order: Order, send) -> bool:
        """True when Kite took the request; False (recorded) when it refused it."""
        try:
            send()
        except RETRYABLE as exc:
            raise BrokerUnavailable(
                f"Kite did not take the {action} of order {order.pk} ({exc}); sent again shortly"
            ) from exc
        except kite_errors.KiteException as exc:
            # Final: sending again would be refused the same way.
            services.order_request_refused(order=order, action=action, message=str(exc))
            return False
        return True


def order_as_stored(order: Order) -> Order:
    """The order as it is now (the outbox entry's copy may be older than a request made since)."""
    return Order.objects.select_related("account", "instrument").get(pk=order.pk)
