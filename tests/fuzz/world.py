"""What a postback meets in the fuzzers: a trader's Kite account, linked and logged in for the day, with
one LIMIT order open at a fake Kite on loopback. An update naming that order reaches the order's state
machine, and one reporting fills makes the platform read Kite's trade book from the fake.

Built by the pytest fixture (inside the test's transaction) and by the atheris runner (inside a
transaction it never commits), so every run starts from the same state."""

from dataclasses import dataclass
from decimal import Decimal

from tests.fakes.kite import FakeKite, linked_account
from trading.brokers.dispatch import outbox_sweep
from trading.kite.updates import kite_tag, postback_checksum
from trading.market.prices import price_record
from trading.models import Instrument, Order
from trading.orders.services import order_place
from tradingsite.roles import TRADER, user_create

API_KEY = "fuzzapp"
SECRET = "fuzz-secret"
ACCESS_TOKEN = "fuzz-day-token"


@dataclass
class PostbackWorld:
    kite: FakeKite
    order: Order

    def message(self, **changes) -> dict:
        """Kite's postback for the order as it stands at Kite, with `changes`, signed with the app's secret."""
        update = {**self.kite.message(self.order.broker_order_id), **changes}
        return {**update, "checksum": self.checksum(update)}

    def checksum(self, update: dict) -> str:
        return postback_checksum(update, SECRET)

    @property
    def tag(self) -> str:
        return kite_tag(self.order)

    def stop(self) -> None:
        self.kite.stop()


def postback_world_make(settings) -> PostbackWorld:
    """The world, in the current transaction; `settings` is Django's settings or pytest-django's wrapper."""
    kite = FakeKite(api_key=API_KEY, api_secret=SECRET, redirect_url="http://testserver/kite/callback").start()
    kite.access_tokens.add(ACCESS_TOKEN)
    settings.KITE_API_ROOT = kite.root
    settings.KITE_TIMEOUT_SECONDS = 1
    settings.KITE_ALGO_ID = "ALGO42"
    settings.KITE_ORDERS_ENABLED = True
    settings.OUTBOX_DISPATCH = "sweep"
    trader = user_create(username="fuzz-trader", password="fuzz-password-123", roles={TRADER}, actor="fuzz")
    account = linked_account(
        owner=trader,
        name="fuzz-kite",
        cash=Decimal("1000000"),
        api_key=API_KEY,
        api_secret=SECRET,
        access_token=ACCESS_TOKEN,
    )
    infy = Instrument.objects.create(
        instrument_token=408065,
        exchange_token=1594,
        tradingsymbol="INFY",
        name="INFOSYS",
        exchange="NSE",
        segment="NSE",
        tick_size=Decimal("0.05"),
    )
    price_record(instrument=infy, price=Decimal("1500.00"))
    order = order_place(
        account=account,
        instrument=infy,
        placed_by=trader,
        transaction_type="BUY",
        order_type="LIMIT",
        product="CNC",
        quantity=10,
        price=Decimal("1495.00"),
    )
    outbox_sweep(min_age_seconds=0)
    order.refresh_from_db()
    if not order.broker_order_id:
        raise RuntimeError(f"the fuzzers' order did not reach the fake Kite: {order.status} {order.status_message}")
    return PostbackWorld(kite=kite, order=order)
