import json
from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from tradingsite.command_args import day, json_object, strategy_and_dates
from tradingsite.exceptions import ApplicationError
from tradingsite.ist import IST


class Command(BaseCommand):
    help = (
        "Replay stored bars through the live strategy runner on the paper exchange and through the backtester, "
        "and report order by order and fill by fill where they differ and why. Nothing of the replay is kept."
    )

    def add_arguments(self, parser):
        strategy_and_dates(parser)
        parser.add_argument("instrument", help="EXCHANGE:SYMBOL whose stored bars are replayed")
        parser.add_argument("--interval", default="5m", help="1m, 5m, 15m, 1h or 1d")

    def handle(self, strategy, instrument, start, end, interval, params, **options):
        from strategies.base import parameters_validate
        from strategies.library import BUILT_IN
        from strategies.parity import strategy_parity
        from strategies.services import instruments_named

        parameters = json_object(params, "--params")
        try:
            if strategy not in BUILT_IN:
                raise CommandError(f"no strategy {strategy!r}; the built-in ones are {', '.join(BUILT_IN)}")
            (found,) = instruments_named([instrument])
            report = strategy_parity(
                logic=strategy,
                instrument=found,
                parameters=parameters_validate(BUILT_IN[strategy], parameters),
                start=datetime.combine(day(start), time(0, 0), tzinfo=IST),
                end=datetime.combine(day(end) + timedelta(days=1), time(0, 0), tzinfo=IST),
                interval=interval,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        summary = {key: value for key, value in report.items() if key != "fills_compared"}
        self.stdout.write(json.dumps(summary, indent=2, default=str))
        verdict = "identical fills" if report["identical"] else f"{len(report['differences'])} difference(s)"
        fills = report["fills"]
        self.stdout.write(f"{fills['paper']} paper fills, {fills['backtest']} backtest fills: {verdict}")
