"""The interface every broker adapter offers the outbox's dispatcher, and the error it raises when
the broker cannot be reached."""

from typing import Protocol

from trading.models import Order
from tradingsite.exceptions import ApplicationError


class Broker(Protocol):
    def place(self, order: Order) -> None: ...

    def modify(self, order: Order) -> None: ...

    def cancel(self, order: Order) -> None: ...


class BrokerUnavailable(ApplicationError):
    """The account's broker cannot be reached or is not linked; the outbox retries later."""

    code = "broker_unavailable"
    status = 503
