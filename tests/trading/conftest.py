from decimal import Decimal

import pytest

from trading.models import Instrument, Order
from trading.outbox import outbox_sweep
from trading.prices import price_record
from trading.services import account_create, order_place

D = Decimal


def instrument_make(symbol: str, token: int, price: str, *, lot: int = 1, exchange: str = "NSE") -> Instrument:
    instrument = Instrument.objects.create(
        instrument_token=token,
        exchange_token=token // 256,
        tradingsymbol=symbol,
        name=symbol,
        exchange=exchange,
        segment=exchange,
        instrument_type="EQ" if lot == 1 else "FUT",
        tick_size=D("0.05"),
        lot_size=lot,
    )
    price_record(instrument=instrument, price=D(price), volume=0)
    return instrument


@pytest.fixture
def reliance(db):
    return instrument_make("RELIANCE", 738561, "2500.00")


@pytest.fixture
def infy(db):
    return instrument_make("INFY", 408065, "1500.00")


@pytest.fixture
def account(alice):
    return account_create(owner=alice, name="alice-paper", cash=D("10000000"), created_by=alice)


@pytest.fixture
def place(account, alice):
    def place_order(instrument, *, account=account, side="BUY", order_type="LIMIT", product="CNC", **fields):
        fields.setdefault("quantity", 1)
        if order_type in ("LIMIT", "SL") and "price" not in fields:
            fields["price"] = instrument.last_price
        return order_place(
            account=account,
            instrument=instrument,
            transaction_type=side,
            order_type=order_type,
            product=product,
            placed_by=alice,
            **fields,
        )

    return place_order


def settle() -> None:
    """Send every outbox entry to the broker now, as the worker would."""
    outbox_sweep(min_age_seconds=0)


def refreshed(order: Order) -> Order:
    order.refresh_from_db()
    return order
