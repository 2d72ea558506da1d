"""Zerodha's equity charges, from the dated rate table, itemised to the paisa.

Each component is computed on the fill's turnover and rounded half-up to the paisa; GST is 18% of
the rounded brokerage, exchange charge and SEBI fee. Intraday brokerage is 0.03% capped at Rs 20 per
executed order, so partial fills of one order share one cap.
"""

import time
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy
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
_rates: dict[tuple[str, date], tuple[float, "RateTerms"]] = {}


def rates_forget(**_) -> None:
    # Now, and again once the change commits: a fill in between may have read the old rate back.
    _rates.clear()
    transaction.on_commit(_rates.clear)


post_save.connect(rates_forget, sender=ChargeRate, dispatch_uid="charges.rates_forget.save")
post_delete.connect(rates_forget, sender=ChargeRate, dispatch_uid="charges.rates_forget.delete")


def rate_on(segment: str, on: date) -> ChargeRate:
    rate = ChargeRate.objects.filter(segment=segment, effective_from__lte=on).order_by("-effective_from").first()
    if rate is None:
        raise NoChargeRateError(f"no {segment} charge rate in force on {on.isoformat()}")
    return rate


def terms_on(segment: str, on: date) -> "RateTerms":
    cached = _rates.get((segment, on))
    if cached is not None and time.monotonic() - cached[0] < RATE_CACHE_SECONDS:
        return cached[1]
    terms = RateTerms.of(rate_on(segment, on))
    _rates[(segment, on)] = (time.monotonic(), terms)
    return terms


# Rates have eight decimal places (trading.models.numbers.RATE): each is an exact whole number of
# 1e-8ths, so a component is computed on whole paise with integer arithmetic and rounded half-up to the
# paisa exactly as Decimal would round it. The same function works on one fill (Python ints) and on a
# backtest's fills at once (numpy int64 arrays; turnover up to about Rs 2.5 billion a fill).
RATE_SCALE = 10**8


@dataclass(frozen=True)
class RateTerms:
    """A charge rate as whole 1e-8ths, and the brokerage cap in paise (None: no cap)."""

    brokerage: int
    brokerage_cap_paise: int | None
    stt_buy: int
    stt_sell: int
    exchange: int
    sebi: int
    stamp_buy: int
    gst: int

    @classmethod
    def of(cls, rate: ChargeRate) -> "RateTerms":
        def scaled(name: str) -> int:
            value = getattr(rate, name) * RATE_SCALE
            if value != value.to_integral_value():
                raise ApplicationError(f"charge rate {rate} has {name} {getattr(rate, name)} beyond 8 decimal places")
            return int(value)

        cap = rate.brokerage_cap
        return cls(
            brokerage=scaled("brokerage_rate"),
            brokerage_cap_paise=None if cap is None else int(cap * 100),
            stt_buy=scaled("stt_buy_rate"),
            stt_sell=scaled("stt_sell_rate"),
            exchange=scaled("exchange_rate"),
            sebi=scaled("sebi_rate"),
            stamp_buy=scaled("stamp_buy_rate"),
            gst=scaled("gst_rate"),
        )


def _part(paise, rate: int):
    """paise x rate/1e8, rounded half-up to the paisa (paise are never negative here; a Decimal's //
    rounds toward zero, as an int's does for positive values)."""
    return (2 * paise * rate + RATE_SCALE) // (2 * RATE_SCALE)


def charges_paise(terms: RateTerms, *, buying, turnover_paise, brokerage_so_far_paise=0):
    """Each component in paise, for fills of `turnover_paise` (ints or int64 arrays; `buying` a bool or
    a bool array): (brokerage, stt, exchange_charge, sebi_fee, stamp_duty, gst)."""
    brokerage = _part(turnover_paise, terms.brokerage)
    if terms.brokerage_cap_paise is not None:
        room = terms.brokerage_cap_paise - brokerage_so_far_paise
        if isinstance(brokerage, numpy.ndarray):
            brokerage = numpy.minimum(brokerage, numpy.maximum(room, 0))
        else:
            brokerage = min(brokerage, max(room, 0))
    stt = _part(turnover_paise, terms.stt_sell) + buying * (
        _part(turnover_paise, terms.stt_buy) - _part(turnover_paise, terms.stt_sell)
    )
    exchange_charge = _part(turnover_paise, terms.exchange)
    sebi_fee = _part(turnover_paise, terms.sebi)
    stamp_duty = buying * _part(turnover_paise, terms.stamp_buy)
    gst = _part(brokerage + exchange_charge + sebi_fee, terms.gst)
    return brokerage, stt, exchange_charge, sebi_fee, stamp_duty, gst


def charges_for_fill(
    *, product: str, transaction_type: str, quantity: int, price: Decimal, on: date, brokerage_so_far: Decimal = ZERO
) -> Charges:
    terms = terms_on(segment_for(product), on)
    parts = charges_paise(
        terms,
        buying=transaction_type == Order.TransactionType.BUY,
        # Whole paise for any NSE price (ticks are 5 paise); a broker's price finer than that is kept
        # exact as a Decimal, which the same arithmetic takes.
        turnover_paise=price * 100 * quantity,
        brokerage_so_far_paise=int(brokerage_so_far * 100),
    )
    return Charges(*(Decimal(int(part)).scaleb(-2) for part in parts))
