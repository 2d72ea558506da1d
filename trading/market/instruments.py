"""The instrument master: Kite's instruments CSV import, and the demo's NIFTY 50 seed."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from trading.models import Instrument
from tradingsite.exceptions import NotFoundError, ValidationError

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
    # Rows whose exchange and tradingsymbol were stored under another instrument token (the demo's seed,
    # or a token Kite has since changed): that instrument took the row's token and fields.
    replaced: int = 0

    def __str__(self) -> str:
        text = f"{self.created} instruments created, {self.updated} updated"
        if self.replaced:
            text += f", {self.replaced} replaced (same exchange and symbol, stored under another instrument token)"
        return text


def decode(raw: bytes) -> str:
    """Kite serves UTF-8 (sometimes with a byte-order mark); older dumps and spreadsheets give Latin-1."""
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def instruments_import(raw: bytes, *, exchanges: set[str] | None = None) -> ImportResult:
    """Create or update instruments from Kite's instruments CSV.

    A row updates the instrument with its instrument_token; failing that, the one with its exchange and
    tradingsymbol, which takes the row's token (replaced in place, so orders, trades and bars that point
    at it keep pointing at it); failing both, it is created. All or nothing: a bad row is an error naming
    its line and field, and nothing is changed. A price of 0 in the dump (Kite's placeholder) never
    replaces a stored last price.
    """
    rows = instruments_read(raw, exchanges=exchanges)
    result = ImportResult()
    try:
        with transaction.atomic():
            _rows_apply(rows, result)
    except IntegrityError as exc:  # rows that swap symbols between instruments: rows are saved one by one
        raise ValidationError(f"the file gives a symbol to one instrument before another gives it up: {exc}") from exc
    return result


def instruments_read(raw: bytes, *, exchanges: set[str] | None = None) -> list[tuple[int, dict]]:
    """The rows of Kite's instruments CSV as (line, instrument fields), read and checked before anything
    is written; a bad row is a ValidationError naming its line and field."""
    # newline="": a line break inside a quoted field is the field's, and a lone CR (old spreadsheets) ends a line.
    reader = csv.DictReader(io.StringIO(decode(raw), newline=""))
    try:
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
                rows.append((line, _instrument_fields(row)))
            except (ValueError, InvalidOperation) as exc:
                raise ValidationError(f"line {line}: {exc}", details={"line": line, "row": row}) from exc
    except csv.Error as exc:  # a field past the csv module's limit (128 KiB)
        line = reader.reader.line_num  # DictReader's own count stops at the last row it returned
        raise ValidationError(f"line {line}: not readable as CSV ({exc})", details={"line": line}) from exc
    return rows


def _rows_apply(rows: list[tuple[int, dict]], result: ImportResult) -> None:
    tokens = [fields["instrument_token"] for _, fields in rows]
    by_token = {i.instrument_token: i for i in Instrument.objects.filter(instrument_token__in=tokens)}
    wanted = {(fields["exchange"], fields["tradingsymbol"]) for _, fields in rows}
    by_symbol = {
        (i.exchange, i.tradingsymbol): i
        for i in Instrument.objects.filter(tradingsymbol__in={symbol for _, symbol in wanted})
        if (i.exchange, i.tradingsymbol) in wanted
    }
    targets = []  # (line, fields, instrument or None, replaced)
    line_of_instrument: dict[int, int] = {}
    line_of_symbol: dict[tuple[str, str], int] = {}
    line_of_token: dict[int, int] = {}
    for line, fields in rows:
        symbol = (fields["exchange"], fields["tradingsymbol"])
        instrument = by_token.get(fields["instrument_token"])
        replaced = instrument is None and symbol in by_symbol
        if replaced:
            instrument = by_symbol[symbol]
        token = fields["instrument_token"]
        for key, seen, what in ((symbol, line_of_symbol, f"{symbol[0]}:{symbol[1]}"), (token, line_of_token, token)):
            if key in seen:
                raise ValidationError(f"line {line}: {what} is on line {seen[key]} too", details={"line": line})
            seen[key] = line
        if instrument is not None:
            if instrument.pk in line_of_instrument:
                raise ValidationError(
                    f"line {line}: this row and line {line_of_instrument[instrument.pk]} would both change "
                    f"{instrument} (token {instrument.instrument_token}): one by its token, one by its symbol",
                    details={"line": line},
                )
            line_of_instrument[instrument.pk] = line
        targets.append((line, fields, instrument, replaced))
    # An instrument the file does not change keeps its symbol: a row may not take it.
    for line, fields, instrument, _ in targets:
        holder = by_symbol.get((fields["exchange"], fields["tradingsymbol"]))
        if holder is not None and holder != instrument and holder.pk not in line_of_instrument:
            raise ValidationError(
                f"line {line}: {holder} is instrument token {holder.instrument_token} here, and this row gives "
                f"that symbol to token {fields['instrument_token']}, which is {instrument} here",
                details={"line": line},
            )
    now = timezone.now()
    for _, fields, instrument, replaced in targets:
        price = fields.pop("last_price")
        if instrument is None:
            instrument = Instrument(**fields)
            result.created += 1
        else:
            for name, value in fields.items():
                setattr(instrument, name, value)
            if replaced:
                result.replaced += 1
            else:
                result.updated += 1
        if price:
            instrument.last_price, instrument.last_price_at = price, now
        instrument.save()


def _instrument_fields(row: dict) -> dict:
    def number(name, kind):
        try:
            value = kind(row[name]) if row[name] else None
        except (ValueError, InvalidOperation):
            raise ValueError(f"{name} {row[name]!r} is not a number") from None
        if isinstance(value, Decimal) and not value.is_finite():
            raise ValueError(f"{name} {row[name]!r} is not a number")
        return value

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
    try:
        price = (number("last_price", Decimal) or Decimal(0)).quantize(Decimal("0.01"))
    except InvalidOperation:
        raise ValueError(f"last_price {row['last_price']!r} is too large for a price") from None
    fields = {
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
        "last_price": price or None,
    }
    _fields_check(fields)
    return fields


def _fields_check(fields: dict) -> None:
    """Refuses what the instrument's columns cannot hold (lengths, digits and places, integer ranges,
    text with NUL), naming the field, before anything is written. The fields' own validators, without
    making a model instance: a full master has a hundred thousand rows."""
    problems = []
    for name, value in fields.items():
        if isinstance(value, str) and "\x00" in value:
            problems.append(f"{name} {value!r} holds a NUL character")
            continue
        try:
            Instrument._meta.get_field(name).run_validators(value)
        except DjangoValidationError as exc:
            problems.append(f"{name} {value!r}: {' '.join(exc.messages)}")
    if problems:
        raise ValueError("; ".join(problems))


# NIFTY 50 constituents with reference prices (rupees, rounded) to start the simulated feed from. Tokens
# are the platform's own in a range Kite does not use for NSE equities; importing Kite's master later
# replaces each in place with Kite's token (matched by exchange and symbol) and adds the rest beside them.
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


IMPORTED_TOKEN_BASE = 91_000_000


def instrument_equity_ensure(exchange: str, symbol: str, *, create: bool) -> Instrument:
    """The instrument `exchange:symbol` from the master; with `create`, an equity (tick 0.05, lot 1) is
    added when the master lacks it (bars imported before the master is), under a token of its own."""
    found = Instrument.objects.filter(exchange=exchange, tradingsymbol=symbol).first()
    if found is not None:
        return found
    if not create:
        raise NotFoundError(
            f"{exchange}:{symbol} is not in the instrument master (import the master first, or pass "
            "--create-instruments)"
        )
    with transaction.atomic():
        last = Instrument.objects.filter(instrument_token__gte=IMPORTED_TOKEN_BASE).aggregate(Max("instrument_token"))
        token = max(last["instrument_token__max"] or 0, IMPORTED_TOKEN_BASE) + 1
        instrument, _ = Instrument.objects.get_or_create(
            exchange=exchange,
            tradingsymbol=symbol,
            defaults={"instrument_token": token, "segment": exchange, "tick_size": Decimal("0.05"), "lot_size": 1},
        )
    return instrument
