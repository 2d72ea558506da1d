"""Request bodies the tests send, built with factory_boy: one place for what a valid order looks like."""

import factory


class OrderBody(factory.DictFactory):
    """The body of POST /api/v1/orders: a market buy of 5 RELIANCE on NSE for delivery (CNC).

    `OrderBody(quantity=6)` changes a field; `OrderBody(limit=True)` is a limit order at 2450.00.
    """

    exchange = "NSE"
    tradingsymbol = "RELIANCE"
    transaction_type = "BUY"
    order_type = "MARKET"
    product = "CNC"
    quantity = 5

    class Params:
        limit = factory.Trait(order_type="LIMIT", price="2450.00")
