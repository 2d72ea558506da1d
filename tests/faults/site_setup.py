"""The fault suite's site, set up in its own database: run as `python -m tests.faults.site_setup` with the
suite's DATABASE_URL, REDIS_URL and prefixes in the environment. Migrates, writes the beat schedule,
then a trader with a paper account and a Kite-linked account (the fake Kite's day token), the
instruments the fake ticker streams, and an API token; prints what the tests need as one JSON line."""

import json
import os
import sys
from decimal import Decimal

D = Decimal
KITE_API_KEY = "kiteapp1"
KITE_TOKEN = "day-token"
# The fake Kite's instruments (tests/fakes/kite.py), with their opening prices.
TRADER_USERNAME, TRADER_PASSWORD = "faults", "faults-password-1"
INSTRUMENTS = {"INFY": (408065, "1500.00"), "RELIANCE": (738561, "2500.00")}


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tradingsite.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("setup_periodic_tasks", verbosity=0)

    from tests.fakes.kite import linked_account
    from trading.market.prices import price_record
    from trading.models import Instrument, TradingAccount
    from trading.orders.accounts import account_create
    from tradingsite.roles import TRADER, user_create
    from tradingsite.tokens import api_token_create

    trader = user_create(username=TRADER_USERNAME, password=TRADER_PASSWORD, roles={TRADER}, actor="tests")
    limits = {"max_orders_per_second": 1000, "max_order_value": D("100000000"), "max_gross_exposure": D("1e12")}
    limits["max_position_value"] = D("1e12")
    paper = account_create(owner=trader, name="faults-paper", cash=D("1000000000"), created_by=trader)
    kite = linked_account(
        owner=trader,
        name="faults-kite",
        cash=D("1000000000"),
        api_key=KITE_API_KEY,
        api_secret="secret",
        access_token=KITE_TOKEN,
    )
    TradingAccount.objects.filter(pk__in=[paper.pk, kite.pk]).update(**limits)
    instruments = {}
    for symbol, (token, price) in INSTRUMENTS.items():
        instrument = Instrument.objects.create(
            instrument_token=token,
            exchange_token=token // 256,
            tradingsymbol=symbol,
            name=symbol,
            exchange="NSE",
            segment="NSE",
            instrument_type="EQ",
            tick_size=D("0.05"),
            lot_size=1,
        )
        price_record(instrument=instrument, price=D(price))
        instruments[symbol] = {"id": instrument.pk, "token": token}
    token = api_token_create(user=trader, name="faults", scope="trade", days=1)
    answer = {"token": token.key, "paper": paper.pk, "kite": kite.pk, "instruments": instruments}
    sys.stdout.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
