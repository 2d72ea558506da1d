import json

from django.core.management.base import BaseCommand, CommandError

from tradingsite.command_args import day, json_object, strategy_and_dates
from tradingsite.exceptions import ApplicationError

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Backtest a built-in strategy over stored bars and store the run: fills at the next bar with the "
        "paper exchange's rules and Zerodha's charges. Prints the figures and the result hash."
    )

    def add_arguments(self, parser):
        strategy_and_dates(parser)
        parser.add_argument("instruments", nargs="+", help="EXCHANGE:SYMBOL, e.g. NSE:INFY")
        parser.add_argument("--interval", default="1d", help="1m, 5m, 15m, 1h or 1d")
        parser.add_argument("--capital", default="1000000")
        parser.add_argument("--slippage-bps", default="0")
        parser.add_argument("--participation", default="0", help="largest share of a bar's volume one fill takes")
        parser.add_argument("--no-charges", action="store_true")
        parser.add_argument("--product", default="CNC", choices=["CNC", "MIS"])

    def progress(self, fraction: float, phase: str) -> None:
        filled = int(round(fraction * BAR_WIDTH))
        line = f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%} {phase:<20}"
        self.stdout.write(line, ending="\n" if fraction >= 1 else "")
        self.stdout.flush()

    def handle(self, strategy, instruments, start, end, interval, params, **options):
        from strategies.services import backtest_run_create, backtest_run_execute

        parameters = json_object(params, "--params")
        try:
            run = backtest_run_create(
                strategy=strategy,
                instruments=instruments,
                start=day(start),
                end=day(end),
                interval=interval,
                parameters=parameters,
                capital=options["capital"],
                slippage_bps=options["slippage_bps"],
                participation=options["participation"],
                charges=not options["no_charges"],
                product=options["product"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        run = backtest_run_execute(run, progress=self.progress)
        if run.status != run.Status.DONE:
            raise CommandError(f"backtest {run.pk} failed: {run.error}")
        figures = {key: value for key, value in run.figures.items() if key != "benchmarks"}
        self.stdout.write(json.dumps({"run": run.pk, "result_hash": run.result_hash, **figures}, indent=2))
        self.stdout.write(json.dumps({"benchmarks": run.figures["benchmarks"]}, indent=2))
