import json
from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError

from tradingsite.exceptions import ApplicationError
from tradingsite.ist import IST


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = (
        "Replay stored bars through the live strategy runner on the paper exchange and through the backtester, "
        "and report order by order and fill by fill where they differ and why. Nothing of the replay is kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("strategy", help="sma_crossover, rsi_reversion or breakout")
        parser.add_argument("instrument", help="EXCHANGE:SYMBOL whose stored bars are replayed")
        parser.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD (IST)")
        parser.add_argument("--to", dest="end", required=True, help="last day, YYYY-MM-DD (IST), included")
        parser.add_argument("--interval", default="5m", help="1m, 5m, 15m, 1h or 1d")
        parser.add_argument("--params", default="{}", help="the strategy's parameters as JSON")

    def handle(self, strategy, instrument, start, end, interval, params, **options):
        from strategies.base import parameters_validate
        from strategies.library import BUILT_IN
        from strategies.parity import strategy_parity
        from strategies.services import instruments_named

        try:
            parameters = json.loads(params)
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params is not JSON: {exc}") from None
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
