from decimal import Decimal

import pytest

from tests.fakes.kite import FakeKite, FakeTicker, linked_account
from trading.brokers.dispatch import outbox_sweep
from trading.market.prices import price_record
from trading.models import Instrument, KiteLink, Order
from trading.orders.accounts import account_create
from trading.orders.services import order_place

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


@pytest.fixture
def kite(settings, alice):
    """Alice's account linked to a Kite app and logged in for the day; the fake knows the token."""
    fake = FakeKite(api_key="kiteapp1", api_secret="secret", redirect_url="http://testserver/kite/callback").start()
    settings.KITE_API_ROOT = fake.root
    settings.KITE_TIMEOUT_SECONDS = 1
    settings.KITE_ALGO_ID = "ALGO42"
    settings.KITE_ORDERS_ENABLED = True
    fake.access_tokens.add("day-token")
    fake.account = linked_account(
        owner=alice,
        name="alice-kite",
        cash=D("1000000"),
        api_key="kiteapp1",
        api_secret="secret",
        access_token="day-token",
    )
    yield fake
    fake.stop()


def kite_place(kite, user, instrument, *, send: bool = False, **fields) -> Order:
    """An order of the `kite` fixture's account (BUY 2 CNC at market unless told); `send` hands it to Kite
    (the outbox sweep) and returns it as it is afterwards."""
    fields = {"transaction_type": "BUY", "order_type": "MARKET", "product": "CNC", "quantity": 2, **fields}
    order = order_place(account=kite.account, instrument=instrument, placed_by=user, **fields)
    if send:
        settle()
        order.refresh_from_db()
    return order


@pytest.fixture
def ticker():
    """Kite's websocket on loopback, knowing the `kite` fixture's day token."""
    fake = FakeTicker(api_key="kiteapp1", access_tokens={"day-token"}).start()
    yield fake
    fake.stop()


@pytest.fixture
def no_pause(settings):
    """Reconciliation looks again at once instead of a second later."""
    settings.KITE_RECONCILE_RECHECK_SECONDS = 0


def reconcile(kite) -> dict:
    """Reconcile the `kite` fixture's account now."""
    from trading.kite.reconcile import kite_reconcile

    return kite_reconcile(KiteLink.objects.get(account=kite.account))
