"""Broker adapters behind one small interface. The outbox worker calls them; they report back through
`trading.services` (acceptance, triggers, fills, rejections), as a real broker's updates would."""

from typing import Protocol

from trading.models import Order, TradingAccount
from tradingsite.exceptions import ApplicationError


class Broker(Protocol):
    def place(self, order: Order) -> None: ...

    def modify(self, order: Order) -> None: ...

    def cancel(self, order: Order) -> None: ...


class BrokerUnavailable(ApplicationError):
    """The account's broker cannot be reached or is not linked; the outbox retries later."""

    code = "broker_unavailable"
    status = 503


def broker_for(account: TradingAccount) -> Broker:
    if account.broker == TradingAccount.Broker.PAPER:
        from trading.brokers.paper import PaperExchange

        return PaperExchange()
    if account.broker == TradingAccount.Broker.KITE:
        from trading.brokers.kite import KiteBroker
        from trading.models import KiteLink

        link = KiteLink.objects.filter(account=account).first()
        if link is not None:
            return KiteBroker(link)
    raise BrokerUnavailable(f"the {account.broker} broker is not linked for account {account.name}")
