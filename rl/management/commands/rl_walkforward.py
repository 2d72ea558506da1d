import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tradingsite.command_args import day
from tradingsite.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Walk-forward evaluation of the RL design on daily bars: the bars cut into folds in time, a model "
        "trained per fold and seed on everything before its fold and judged on it, beside buy-and-hold, "
        "equal weight and the SMA crossover on the same bars. Prints JSON: per fold, each seed's figures, "
        "their medians and the benchmarks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--data", help="a folder of <SYMBOL>.csv daily bars (else the database's bars)")
        parser.add_argument("--to", dest="end", required=True, help="the last day used, YYYY-MM-DD")
        parser.add_argument("--from", dest="start")
        parser.add_argument("--instruments", nargs="*", default=[])
        parser.add_argument("--folds", type=int, default=4)
        parser.add_argument("--seeds", type=int, default=5)
        parser.add_argument("--steps", type=int, default=None, help="training steps per model (RL_TRAIN_STEPS)")
        parser.add_argument("--algorithm", choices=["ppo", "a2c"], default=None)

    def handle(self, data, end, start, instruments, folds, seeds, steps, algorithm, **options):
        from rl.data import market_for
        from rl.evaluation import walk_forward
        from rl.training import Hyper
        from strategies.engine import Costs

        if folds < 1 or seeds < 1:
            raise CommandError("--folds and --seeds must be at least 1")
        try:
            market = market_for(
                data=Path(data) if data else None,
                instruments=instruments,
                start=day(start) if start else None,
                end=day(end),
            )
            table = walk_forward(
                market,
                folds=folds,
                seeds=seeds,
                steps=steps or settings.RL_TRAIN_STEPS,
                hyper=Hyper(algorithm=algorithm or settings.RL_ALGORITHM),
                window=settings.RL_WINDOW,
                costs=Costs(slippage_bps=settings.RL_SLIPPAGE_BPS, charges=True),
                progress=lambda done: self.stderr.write(f"\r{done:4.0%}", ending=""),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write("")
        self.stdout.write(json.dumps({"instruments": list(market.symbols), **table}, indent=2))
