"""Zerodha's published equity charges, by the date they took effect.

Seeded after every migrate (and after a flush), so the table always holds at least these rows;
newer rates are added here with their date, and older trades keep the rates of their day.
"""

from datetime import date
from decimal import Decimal

SOURCE = "Zerodha brokerage and charges page, equity (NSE)"

# (effective_from, NSE transaction charge). Only the exchange charge changed on 2023-04-01 (from
# 0.00345%) and on 2024-10-01, when NSE moved to a flat rate; the other equity rates below held across
# all three periods. The first period starts on 2020-07-01, when stamp duty became one national rate,
# so backtests over stored history from then on are charged as trades then were.
PERIODS = [
    (date(2020, 7, 1), Decimal("0.0000345")),
    (date(2023, 4, 1), Decimal("0.0000322")),
    (date(2024, 10, 1), Decimal("0.0000297")),
]

COMMON = {"sebi_rate": Decimal("0.000001"), "gst_rate": Decimal("0.18"), "source": SOURCE}
SEGMENTS = {
    "equity_delivery": {
        "brokerage_rate": Decimal("0"),
        "brokerage_cap": None,
        "stt_buy_rate": Decimal("0.001"),
        "stt_sell_rate": Decimal("0.001"),
        "stamp_buy_rate": Decimal("0.00015"),
    },
    "equity_intraday": {
        "brokerage_rate": Decimal("0.0003"),
        "brokerage_cap": Decimal("20"),
        "stt_buy_rate": Decimal("0"),
        "stt_sell_rate": Decimal("0.00025"),
        "stamp_buy_rate": Decimal("0.00003"),
    },
}


def charge_rates_seed() -> None:
    from trading.models import ChargeRate

    for effective_from, exchange_rate in PERIODS:
        for segment, rates in SEGMENTS.items():
            ChargeRate.objects.get_or_create(
                segment=segment,
                effective_from=effective_from,
                defaults={**rates, **COMMON, "exchange_rate": exchange_rate},
            )


def charge_rates_seed_after_migrate(sender, **kwargs):
    charge_rates_seed()
