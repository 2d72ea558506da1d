from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.instruments import instruments_import
from tradingsite.exceptions import ApplicationError


class Command(BaseCommand):
    help = "Import Kite's instruments CSV (https://api.kite.trade/instruments) into the instrument master."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--exchange", action="append", help="only these exchanges (repeatable), e.g. NSE")

    def handle(self, path: Path, exchange=None, **options):
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
        try:
            result = instruments_import(raw, exchanges=set(exchange) if exchange else None)
        except ApplicationError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(f"{result.created} instruments created, {result.updated} updated")
