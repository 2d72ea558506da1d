from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from tradingsite.command_args import day
from tradingsite.exceptions import ApplicationError
from tradingsite.ist import IST


class Command(BaseCommand):
    help = (
        "Import Kite's historical candles of an instrument into the bar tables: minute candles as minute bars "
        "(rolled up into hours and days) or daily candles as daily bars. Long ranges are fetched in the spans "
        "Kite accepts, at most 3 requests a second."
    )

    def add_arguments(self, parser):
        parser.add_argument("instrument", help="EXCHANGE:TRADINGSYMBOL, e.g. NSE:INFY")
        parser.add_argument("--account", default="", help="the Kite-linked account whose session fetches them")
        parser.add_argument("--interval", default="minute", choices=["minute", "day"])
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (IST)")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (IST), included")

    def handle(self, instrument, account, interval, start, end, **options):
        from trading.kite.client import kite_link_named
        from trading.kite.history import kite_history_import
        from trading.models import Instrument

        exchange, _, symbol = instrument.upper().rpartition(":")
        found = Instrument.objects.filter(tradingsymbol=symbol, **({"exchange": exchange} if exchange else {}))
        if found.count() != 1:
            raise CommandError(
                f"{instrument!r} names {'no' if not found.exists() else 'more than one'} instrument in the master"
                + ("" if exchange else "; give it as EXCHANGE:TRADINGSYMBOL")
            )
        first = datetime.combine(day(start), time(0, 0), tzinfo=IST)
        last = datetime.combine(day(end), time(0, 0), tzinfo=IST) + timedelta(days=1, seconds=-1)
        try:
            result = kite_history_import(
                kite_link_named(account), instrument=found.get(), interval=interval, start=first, end=last
            )
        except ApplicationError as exc:
            raise CommandError(f"Kite: {exc}") from exc
        self.stdout.write(f"{result.candles} {interval} candles stored from {result.requests} requests")
