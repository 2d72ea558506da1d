"""Zerodha Kite Connect: the link and the day's login (`client`), order updates from postbacks and
the ticker (`updates`), reconciliation with Kite's books (`reconcile`), historical candles
(`history`) and the /kite/ pages (`views`). The order adapter is `trading.brokers.kite`."""
