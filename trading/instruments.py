"""The instrument master: Kite's instruments CSV import, and the demo's NIFTY 50 seed."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from tradingsite.exceptions import ValidationError

from .models import Instrument

KITE_COLUMNS = [
    "instrument_token",
    "exchange_token",
    "tradingsymbol",
    "name",
    "last_price",
    "expiry",
    "strike",
    "tick_size",
    "lot_size",
    "instrument_type",
    "segment",
    "exchange",
]


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0


def decode(raw: bytes) -> str:
    """Kite serves UTF-8 (sometimes with a byte-order mark); older dumps and spreadsheets give Latin-1."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def instruments_import(raw: bytes, *, exchanges: set[str] | None = None) -> ImportResult:
    """Create or update instruments from Kite's instruments CSV, keyed by instrument_token.

    All or nothing: a bad row is an error naming its line and field, and nothing is changed. A price
    of 0 in the dump (Kite's placeholder) never replaces a stored last price.
    """
    reader = csv.DictReader(io.StringIO(decode(raw)))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [column for column in KITE_COLUMNS if column not in header]
    if missing:
        raise ValidationError(f"not a Kite instruments CSV: missing columns {missing}", details={"header": header})
    rows = []
    for line, row in enumerate(reader, start=2):
        row = {key.strip(): (value or "").strip() for key, value in row.items() if key}
        if exchanges and row["exchange"] not in exchanges:
            continue
        try:
            rows.append(_instrument_fields(row))
        except (ValueError, InvalidOperation) as exc:
            raise ValidationError(f"line {line}: {exc}", details={"line": line, "row": row}) from exc
    result = ImportResult()
    with transaction.atomic():
        existing = {
            i.instrument_token: i
            for i in Instrument.objects.filter(instrument_token__in=[fields["instrument_token"] for fields in rows])
        }
        now = timezone.now()
        for fields in rows:
            price = fields.pop("last_price")
            instrument = existing.get(fields["instrument_token"])
            if instrument is None:
                instrument = Instrument(**fields)
                if price:
                    instrument.last_price, instrument.last_price_at = price, now
                instrument.save()
                result.created += 1
                continue
            for name, value in fields.items():
                setattr(instrument, name, value)
            if price:
                instrument.last_price, instrument.last_price_at = price, now
            instrument.save()
            result.updated += 1
    return result


def _instrument_fields(row: dict) -> dict:
    def number(name, kind):
        try:
            return kind(row[name]) if row[name] else None
        except (ValueError, InvalidOperation):
            raise ValueError(f"{name} {row[name]!r} is not a number") from None

    token = number("instrument_token", int)
    if token is None or not row["tradingsymbol"] or not row["exchange"]:
        raise ValueError("instrument_token, tradingsymbol and exchange are required")
    tick = number("tick_size", Decimal) or Decimal("0.05")
    lot = number("lot_size", int) or 1
    if tick <= 0 or lot <= 0:
        raise ValueError(f"tick_size {tick} and lot_size {lot} must be positive")
    try:
        expiry = date.fromisoformat(row["expiry"]) if row["expiry"] else None
    except ValueError:
        raise ValueError(f"expiry {row['expiry']!r} is not a date (YYYY-MM-DD)") from None
    strike = number("strike", Decimal)
    return {
        "instrument_token": token,
        "exchange_token": number("exchange_token", int),
        "tradingsymbol": row["tradingsymbol"],
        "name": row["name"],
        "exchange": row["exchange"],
        "segment": row["segment"] or row["exchange"],
        "instrument_type": row["instrument_type"] or "EQ",
        "tick_size": tick,
        "lot_size": lot,
        "expiry": expiry,
        "strike": strike if strike else None,
        "last_price": (number("last_price", Decimal) or Decimal(0)).quantize(Decimal("0.01")) or None,
    }


# NIFTY 50 constituents with reference prices (rupees, rounded) to start the simulated feed from. Tokens
# are the platform's own in a range Kite does not use for NSE equities; importing Kite's master later
# adds Kite's instruments beside them.
NIFTY_50 = [
    ("ADANIENT", "ADANI ENTERPRISES", "2400"),
    ("ADANIPORTS", "ADANI PORTS AND SEZ", "1200"),
    ("APOLLOHOSP", "APOLLO HOSPITALS", "7000"),
    ("ASIANPAINT", "ASIAN PAINTS", "2300"),
    ("AXISBANK", "AXIS BANK", "1100"),
    ("BAJAJ-AUTO", "BAJAJ AUTO", "8800"),
    ("BAJFINANCE", "BAJAJ FINANCE", "6900"),
    ("BAJAJFINSV", "BAJAJ FINSERV", "1600"),
    ("BEL", "BHARAT ELECTRONICS", "290"),
    ("BHARTIARTL", "BHARTI AIRTEL", "1600"),
    ("BPCL", "BHARAT PETROLEUM", "290"),
    ("BRITANNIA", "BRITANNIA INDUSTRIES", "4800"),
    ("CIPLA", "CIPLA", "1500"),
    ("COALINDIA", "COAL INDIA", "380"),
    ("DRREDDY", "DR. REDDY'S LABORATORIES", "1350"),
    ("EICHERMOT", "EICHER MOTORS", "5000"),
    ("GRASIM", "GRASIM INDUSTRIES", "2500"),
    ("HCLTECH", "HCL TECHNOLOGIES", "1900"),
    ("HDFCBANK", "HDFC BANK", "1750"),
    ("HDFCLIFE", "HDFC LIFE INSURANCE", "620"),
    ("HEROMOTOCO", "HERO MOTOCORP", "4300"),
    ("HINDALCO", "HINDALCO INDUSTRIES", "620"),
    ("HINDUNILVR", "HINDUSTAN UNILEVER", "2300"),
    ("ICICIBANK", "ICICI BANK", "1300"),
    ("INDUSINDBK", "INDUSIND BANK", "950"),
    ("INFY", "INFOSYS", "1900"),
    ("ITC", "ITC", "450"),
    ("JSWSTEEL", "JSW STEEL", "920"),
    ("KOTAKBANK", "KOTAK MAHINDRA BANK", "1750"),
    ("LT", "LARSEN & TOUBRO", "3600"),
    ("M&M", "MAHINDRA & MAHINDRA", "3000"),
    ("MARUTI", "MARUTI SUZUKI", "11000"),
    ("NESTLEIND", "NESTLE INDIA", "2200"),
    ("NTPC", "NTPC", "330"),
    ("ONGC", "OIL AND NATURAL GAS CORP", "250"),
    ("POWERGRID", "POWER GRID CORP", "310"),
    ("RELIANCE", "RELIANCE INDUSTRIES", "1250"),
    ("SBILIFE", "SBI LIFE INSURANCE", "1450"),
    ("SBIN", "STATE BANK OF INDIA", "800"),
    ("SHRIRAMFIN", "SHRIRAM FINANCE", "600"),
    ("SUNPHARMA", "SUN PHARMACEUTICAL", "1800"),
    ("TATACONSUM", "TATA CONSUMER PRODUCTS", "920"),
    ("TATAMOTORS", "TATA MOTORS", "740"),
    ("TATASTEEL", "TATA STEEL", "140"),
    ("TCS", "TATA CONSULTANCY SERVICES", "4100"),
    ("TECHM", "TECH MAHINDRA", "1700"),
    ("TITAN", "TITAN COMPANY", "3300"),
    ("TRENT", "TRENT", "6800"),
    ("ULTRACEMCO", "ULTRATECH CEMENT", "11500"),
    ("WIPRO", "WIPRO", "300"),
]
DEMO_TOKEN_BASE = 90_000_000


def instruments_seed_demo() -> int:
    """Add the NIFTY 50 (NSE equities) with reference prices where missing; returns how many were added."""
    added = 0
    now = timezone.now()
    for index, (symbol, name, price) in enumerate(NIFTY_50):
        _, created = Instrument.objects.get_or_create(
            exchange="NSE",
            tradingsymbol=symbol,
            defaults={
                "instrument_token": DEMO_TOKEN_BASE + index,
                "name": name,
                "segment": "NSE",
                "instrument_type": "EQ",
                "tick_size": Decimal("0.05"),
                "lot_size": 1,
                "last_price": Decimal(price),
                "last_price_at": now,
            },
        )
        added += created
    return added
