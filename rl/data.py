"""Daily bars for training and evaluation: from a folder of CSV files in the `../shared/data/nifty100`
layout (`<SYMBOL>.csv`: Date, Adj Close, Close, High, Low, Open, Volume; prices adjusted for splits and
bonuses by Adj Close / Close), or from the database."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from strategies.data import market_build, market_from_db, on_tick, signals_attach
from strategies.engine import Market
from trading.market.bars_csv import bars_csv_read
from tradingsite.exceptions import ValidationError
from tradingsite.ist import IST

TICK = Decimal("0.05")


def market_from_csv_dir(directory: Path, *, start: date | None, end: date, symbols: list[str] | None = None) -> Market:
    """Each `<SYMBOL>.csv` in `directory` (or only `symbols`), adjusted, rounded to the 5-paise tick,
    from `start` (or the first row) to `end`, both included."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ValidationError(f"{directory} is not a folder of CSV files")
    paths = sorted(directory.glob("*.csv"))
    if symbols:
        wanted = {symbol.upper() for symbol in symbols}
        missing = sorted(wanted - {path.stem.upper() for path in paths})
        if missing:
            raise ValidationError(f"no CSV in {directory} for {', '.join(missing)}")
        paths = [path for path in paths if path.stem.upper() in wanted]
    if not paths:
        raise ValidationError(f"no CSV files in {directory}")
    first = datetime.combine(start, time(0), tzinfo=IST) if start else None
    last = datetime.combine(end, time(0), tzinfo=IST)
    rows, described = {}, []
    for k, path in enumerate(paths, 1):
        bars = bars_csv_read(path, interval="day", adjusted=True).rows
        chosen = [row for row in bars if (first is None or row[0] >= first) and row[0] <= last]
        rows[path.stem] = [(ts, *(on_tick(v, TICK) for v in ohlc), volume) for ts, *ohlc, volume in chosen]
        described.append((k, path.stem, TICK, 1))
    return market_build(described, rows)


def market_for(*, data: Path | None, instruments: list[str], start: date | None, end: date) -> Market:
    """From CSV files where `data` is given, else the database's daily bars of `instruments` with the
    sentiment store's point-in-time daily sentiment (an agent trained on them observes it, live too)."""
    if data is not None:
        return market_from_csv_dir(data, start=start, end=end, symbols=instruments or None)
    from strategies.services import instruments_named

    if not instruments:
        raise ValidationError("name the instruments (EXCHANGE:SYMBOL) to train on from the database")
    first = datetime.combine(start or date(2000, 1, 1), time(0), tzinfo=IST)
    market = market_from_db(
        instruments_named(instruments), "1d", first, datetime.combine(end + timedelta(1), time(0), tzinfo=IST)
    )
    return signals_attach(market, "1d", ["sentiment"])
