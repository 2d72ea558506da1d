"""Broker adapters behind one small interface (`trading.brokers.base`). The outbox's dispatcher
(`trading.brokers.dispatch`) calls them; they report back through the order services' public functions
(`trading.orders.services`, `fills`, `states`: acceptance, triggers, fills, rejections), as a real
broker's updates would. The order services never import a broker."""

from trading.brokers.base import Broker, BrokerUnavailable
from trading.models import TradingAccount


def broker_for(account: TradingAccount) -> Broker:
    # Imported here so that reading the interface does not load kiteconnect (and its Twisted reactor).
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
