"""Zerodha's equity charges, from the dated rate table, itemised to the paisa.

Each component is computed on the fill's turnover and rounded half-up to the paisa; GST is 18% of
the rounded brokerage, exchange charge and SEBI fee. Intraday brokerage is 0.03% capped at Rs 20 per
executed order, so partial fills of one order share one cap.
"""

import time
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from trading.models import ChargeRate, Order
from tradingsite.exceptions import ApplicationError

PAISA = Decimal("0.01")
ZERO = Decimal("0")


def paisa(value: Decimal) -> Decimal:
    return value.quantize(PAISA, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Charges:
    brokerage: Decimal
    stt: Decimal
    exchange_charge: Decimal
    sebi_fee: Decimal
    stamp_duty: Decimal
    gst: Decimal

    @property
    def total(self) -> Decimal:
        return self.brokerage + self.stt + self.exchange_charge + self.sebi_fee + self.stamp_duty + self.gst


class NoChargeRateError(ApplicationError):
    """No dated charge rate covers the trade: the site's charge table needs a row (charge_rates.py)."""

    code = "no_charge_rate"
    status = 503


def segment_for(product: str) -> str:
    return ChargeRate.Segment.EQUITY_INTRADAY if product == Order.Product.MIS else ChargeRate.Segment.EQUITY_DELIVERY


# Every fill reads its rate; rates are dated rows added ahead of their day and rarely edited. Each
# process keeps what it read for RATE_CACHE_SECONDS, and forgets it when it saves or deletes a rate
# itself (the admin's process); other processes, and edits made in bulk or in SQL, take effect within
# that time.
RATE_CACHE_SECONDS = 60.0
_rates: dict[tuple[str, date], tuple[float, ChargeRate]] = {}


def rates_forget(**_) -> None:
    # Now, and again once the change commits: a fill in between may have read the old rate back.
    _rates.clear()
    transaction.on_commit(_rates.clear)


post_save.connect(rates_forget, sender=ChargeRate, dispatch_uid="charges.rates_forget.save")
post_delete.connect(rates_forget, sender=ChargeRate, dispatch_uid="charges.rates_forget.delete")


def rate_on(segment: str, on: date) -> ChargeRate:
    cached = _rates.get((segment, on))
    if cached is not None and time.monotonic() - cached[0] < RATE_CACHE_SECONDS:
        return cached[1]
    rate = ChargeRate.objects.filter(segment=segment, effective_from__lte=on).order_by("-effective_from").first()
    if rate is None:
        raise NoChargeRateError(f"no {segment} charge rate in force on {on.isoformat()}")
    _rates[(segment, on)] = (time.monotonic(), rate)
    return rate


def charges_for_fill(
    *, product: str, transaction_type: str, quantity: int, price: Decimal, on: date, brokerage_so_far: Decimal = ZERO
) -> Charges:
    rate = rate_on(segment_for(product), on)
    turnover = price * quantity
    buying = transaction_type == Order.TransactionType.BUY
    brokerage = paisa(turnover * rate.brokerage_rate)
    if rate.brokerage_cap is not None:
        brokerage = min(brokerage, max(ZERO, rate.brokerage_cap - brokerage_so_far))
    exchange_charge = paisa(turnover * rate.exchange_rate)
    sebi_fee = paisa(turnover * rate.sebi_rate)
    return Charges(
        brokerage=brokerage,
        stt=paisa(turnover * (rate.stt_buy_rate if buying else rate.stt_sell_rate)),
        exchange_charge=exchange_charge,
        sebi_fee=sebi_fee,
        stamp_duty=paisa(turnover * rate.stamp_buy_rate) if buying else ZERO,
        gst=paisa((brokerage + exchange_charge + sebi_fee) * rate.gst_rate),
    )
