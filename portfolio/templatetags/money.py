"""Money on the pages as Indian readers write it: 12,34,567.50, as money.js writes it on the trade page."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

register = template.Library()

MISSING = "—"


def group_indian(digits: str) -> str:
    """Whole rupees grouped the Indian way: the last three digits, then pairs: "1234567" -> "12,34,567"."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    pairs = [head[max(0, end - 2) : end] for end in range(len(head), 0, -2)]
    return ",".join(reversed(pairs)) + "," + tail


@register.filter
def inr(value, places=2) -> str:
    """A Decimal, int or decimal string to `places` places (half away from zero, as money.js rounds),
    grouped, the sign kept: Decimal("-1234567.5") -> "-12,34,567.50"; "—" for None or a non-number."""
    if value is None or value == "":
        return MISSING
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
        places = int(places)
        rounded = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):  # not a number, or infinite
        return MISSING
    if rounded.is_nan():
        return MISSING
    whole, _, fraction = f"{abs(rounded):f}".partition(".")
    sign = "-" if rounded < 0 else ""
    return sign + group_indian(whole) + ("." + fraction if places else "")


@register.filter
def pnl_class(value) -> str:
    """The colour class of a P&L figure: "up" above zero, "down" below, "" at zero or for no number."""
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return ""
    if not number.is_finite():
        return ""
    return "up" if number > 0 else "down" if number < 0 else ""


@register.filter
def percent(fraction, places=2) -> str:
    """A fraction as a percent, grouped: Decimal("-0.1234") -> "-12.34"; "—" for None."""
    if fraction is None or fraction == "":
        return MISSING
    try:
        number = fraction if isinstance(fraction, Decimal) else Decimal(str(fraction))
    except (InvalidOperation, ValueError, TypeError):
        return MISSING
    return inr(number * 100, places)
