from datetime import timedelta
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tradingsite.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Import daily or minute bars from CSV files (Date, Open, High, Low, Close, Volume and optionally "
        "Adj Close, in any order). Each file is named after its instrument's trading symbol (INFY.csv) unless "
        "--instrument says otherwise; a directory imports every CSV in it. Minute bars are rolled up into "
        "hours and days. A file that cannot be read is reported with its line and nothing of it is stored."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", type=Path, help="CSV files or directories of them")
        parser.add_argument("--interval", default="day", choices=["day", "minute"])
        parser.add_argument("--exchange", default="NSE")
        parser.add_argument("--instrument", help="the trading symbol, when importing one file not named after it")
        parser.add_argument("--adjusted", action="store_true", help="scale prices by Adj Close / Close")
        parser.add_argument(
            "--create-instruments",
            action="store_true",
            help="add an equity (tick 0.05, lot 1) for a symbol the instrument master does not have",
        )

    def handle(self, paths, interval, exchange, instrument, adjusted, create_instruments, **options):
        from trading.market.bars import bars_rollup, bars_store
        from trading.market.bars_csv import bars_csv_read
        from trading.market.instruments import instrument_equity_ensure

        files = []
        for path in paths:
            if path.is_dir():
                files.extend(sorted(path.glob("*.csv")))
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"{path}: no such file or directory")
        if instrument and len(files) != 1:
            raise CommandError("--instrument names the instrument of one file; give one file")
        stored, failed = 0, []
        for path in files:
            symbol = (instrument or path.stem).upper()
            try:
                found = instrument_equity_ensure(exchange, symbol, create=create_instruments)
                bars = bars_csv_read(path, interval=interval, adjusted=adjusted)
                count = bars_store(found.pk, interval, bars.rows)
                if interval == "minute" and bars.rows:
                    for rollup in ("1h", "1d"):
                        bars_rollup(rollup, since=bars.rows[0][0], until=bars.rows[-1][0] + timedelta(minutes=1))
            except (ApplicationError, OSError, UnicodeDecodeError) as exc:
                failed.append(f"{path.name}: {getattr(exc, 'message', exc)}")
                continue
            stored += count
            note = f" ({bars.skipped} empty rows skipped)" if bars.skipped else ""
            self.stdout.write(f"{exchange}:{symbol}: {count} {interval} bars{note}")
        for line in failed:
            self.stderr.write(line)
        self.stdout.write(f"{stored} bars stored from {len(files) - len(failed)} of {len(files)} files")
        if failed:
            raise CommandError(f"{len(failed)} file(s) not imported")
