from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from trading.market.instruments import instruments_import
from tradingsite.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Import Kite's instruments CSV into the instrument master: from a file (the dump at "
        "https://api.kite.trade/instruments), or --from-kite ACCOUNT to fetch it with that account's Kite session."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, nargs="?")
        parser.add_argument("--exchange", action="append", help="only these exchanges (repeatable), e.g. NSE")
        parser.add_argument("--from-kite", metavar="ACCOUNT", help="fetch from Kite with this linked account's session")

    def handle(self, path: Path | None, exchange=None, from_kite=None, **options):
        exchanges = set(exchange) if exchange else None
        if (path is None) == (from_kite is None):
            raise CommandError("give either a CSV file or --from-kite ACCOUNT")
        if from_kite is not None:
            from trading.kite.client import kite_link_named
            from trading.kite.history import kite_instruments_import

            try:
                result = kite_instruments_import(kite_link_named(from_kite), exchanges=exchanges)
            except ApplicationError as exc:
                raise CommandError(f"Kite: {exc}") from exc
        else:
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
            try:
                result = instruments_import(raw, exchanges=exchanges)
            except ApplicationError as exc:
                raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(str(result))
