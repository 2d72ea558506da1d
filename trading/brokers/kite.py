"""Orders to Zerodha through the official kiteconnect client.

Every order carries a tag made from its client order id, so an order whose answer was lost (a timeout
after Kite accepted it, a dropped connection) is found by its tag before anything is sent again: an
order reaches the exchange at most once. Kite's refusals become order rejections with Kite's own
message; a lapsed session rejects with a prompt to log in again; rate limiting and network trouble
leave the order to be sent again by the outbox.
"""

import time
from datetime import datetime

import requests
from django.conf import settings
from kiteconnect import exceptions as kite_errors

from audit.services import audit_record
from tradingsite.counters import counts_increment
from tradingsite.ist import IST

from .. import services
from ..kite import kite_client, kite_session_live
from ..models import KiteLink, Order, OutboxEntry
from . import BrokerUnavailable

TAG_LENGTH = 20  # Kite's limit for a tag
# Kite's own protection for orders at market: -1 lets Kite apply its standard band.
MARKET_PROTECTION = -1
RETRYABLE = (kite_errors.NetworkException, requests.RequestException)


def kite_tag(order: Order) -> str:
    return order.client_order_id.hex[:TAG_LENGTH]


class KiteBroker:
    def __init__(self, link: KiteLink):
        self.link = link
        self.client = kite_client(link)

    def place(self, order: Order) -> None:
        if order.status != Order.Status.RECEIVED:
            return  # cancelled before it was sent, or accepted by an earlier send
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

    def within_limits(self, order: Order) -> bool:
        """Kite's per-account order limits, counted in Redis across workers. Past the per-second or
        per-minute limit the order waits for the outbox to send it again; past the day's, it is rejected."""
        now = time.time()
        windows = [
            (f"s:{int(now)}", 2, settings.KITE_ORDERS_PER_SECOND, "second"),
            (f"m:{int(now // 60)}", 120, settings.KITE_ORDERS_PER_MINUTE, "minute"),
            (f"d:{datetime.now(IST).date()}", 2 * 86400, settings.KITE_ORDERS_PER_DAY, "day"),
        ]
        counts = counts_increment([(f"kite-orders:{order.account_id}:{window}", ttl) for window, ttl, _, _ in windows])
        for count, (_, _, limit, per) in zip(counts, windows, strict=True):
            if count <= limit:
                continue
            if per == "day":
                reason = f"Kite allows {limit} orders per day per account; this account has reached it"
                services.order_broker_reject(order=order, reason=reason)
                return False
            raise BrokerUnavailable(f"Kite's limit of {limit} orders per {per} for this account: sent again shortly")
        return True

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
        return OutboxEntry.objects.filter(order=order, action=OutboxEntry.Action.PLACE, attempts__gt=1).exists()

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
        """Send the order's current terms. Retried on network trouble; Kite's refusal (the order already
        complete, or past Kite's 25 modifications) is final and recorded in the audit trail."""
        if not order.broker_order_id:
            return  # not at Kite yet: the placement carries the new terms
        params = {
            "quantity": order.quantity,
            "order_type": order.order_type,
            "validity": order.validity,
            **self.prices(order),
        }
        self.call("modify", order, lambda: self.client.modify_order(order.variety, order.broker_order_id, **params))

    def cancel(self, order: Order) -> None:
        if not order.broker_order_id:
            return  # never reached Kite (a placement that finds it cancelled does not send it)
        self.call("cancel", order, lambda: self.client.cancel_order(order.variety, order.broker_order_id))

    @staticmethod
    def call(action: str, order: Order, send) -> None:
        try:
            send()
        except RETRYABLE as exc:
            raise BrokerUnavailable(
                f"Kite did not take the {action} of order {order.pk} ({exc}); sent again shortly"
            ) from exc
        except kite_errors.KiteException as exc:
            # Final: sending again would be refused the same way. The order's state comes from Kite's
            # order updates and reconciliation, not from this answer.
            audit_record(
                action=f"kite.{action}_refused",
                actor="system:kite",
                object_type="order",
                object_id=order.pk,
                payload={"kite_order_id": order.broker_order_id, "message": str(exc)[:500]},
            )
