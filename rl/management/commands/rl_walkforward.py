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
        "their medians and the benchmarks. With --model, the recipe of that registry agent (its algorithm, "
        "hyperparameters, steps, instruments and data) is judged, and the figures with the promotion gate's "
        "verdict are stored as its evaluation."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", help="judge this registry agent's recipe and store the result on it")
        parser.add_argument("--data", help="a folder of <SYMBOL>.csv daily bars (else the database's bars)")
        parser.add_argument("--to", dest="end", help="the last day used, YYYY-MM-DD (required without --model)")
        parser.add_argument("--from", dest="start")
        parser.add_argument("--instruments", nargs="*", default=[])
        parser.add_argument("--folds", type=int, default=4)
        parser.add_argument("--seeds", type=int, default=5)
        parser.add_argument("--steps", type=int, default=None, help="training steps per model (RL_TRAIN_STEPS)")
        parser.add_argument("--algorithm", choices=["ppo", "a2c"], default=None)

    def handle(self, model, data, end, start, instruments, folds, seeds, steps, algorithm, **options):
        if model:
            self.judge_model(model, folds, seeds)
            return
        if not end:
            raise CommandError("--to is required (or --model)")
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
                drawdown_penalty=settings.RL_DRAWDOWN_PENALTY,
                costs=Costs(slippage_bps=settings.RL_SLIPPAGE_BPS, charges=True),
                progress=lambda done: self.stderr.write(f"\r{done:4.0%}", ending=""),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write("")
        self.stdout.write(json.dumps({"instruments": list(market.symbols), **table}, indent=2))

    def judge_model(self, name, folds, seeds):
        from rl.models import AgentModel
        from rl.services import agent_evaluate, agent_market

        agent = AgentModel.objects.filter(name=name).defer("checkpoint").first()
        if agent is None:
            raise CommandError(f"no agent {name!r} in the registry")
        if folds < 1 or seeds < 1:
            raise CommandError("--folds and --seeds must be at least 1")
        try:
            agent = agent_evaluate(
                agent,
                agent_market(agent),
                folds=folds,
                seeds=seeds,
                progress=lambda done: self.stderr.write(f"\r{done:4.0%}", ending=""),
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write("")
        self.stdout.write(json.dumps({"agent": agent.name, **agent.evaluation}, indent=2))
