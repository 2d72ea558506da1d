import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q

from tradingsite.command_args import day
from tradingsite.exceptions import ApplicationError

WARMUP_DAYS = 70  # calendar days before --from whose bars fill the observation window and the SMA's averages


class Command(BaseCommand):
    help = (
        "Run a stored model (NAME, or the seeds NAME-seed0, NAME-seed1 ... trained together) over daily "
        "bars from --from to --to, from a folder of CSV files (the ../shared/data/nifty100 layout), and "
        "print JSON: Sharpe, Sortino, CAGR, max drawdown, turnover and charges per seed, their median, and "
        "buy-and-hold, equal weight and the SMA crossover on the same bars."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, metavar="NAME")
        parser.add_argument("--data", required=True, help="a folder of <SYMBOL>.csv daily bars")
        parser.add_argument("--from", dest="start", required=True)
        parser.add_argument("--to", dest="end", required=True)

    def handle(self, model, data, start, end, **options):
        from rl.data import market_from_csv_dir
        from rl.evaluation import FIGURES, Judged, benchmarks_judged, median_of, policy_judged
        from rl.models import AgentModel
        from rl.policy import ExportedPolicy, policy_fits
        from rl.services import agent_hyper
        from strategies.engine import Costs

        family = list(
            AgentModel.objects.filter(Q(name=model) | Q(name__startswith=f"{model}-seed"))
            .exclude(policy_sha256="")
            .order_by("seed", "name")
        )
        if not family:
            raise CommandError(f"no trained model named {model!r} (or {model}-seed<N>) in the registry")
        instruments = family[0].instruments
        if any(agent.instruments != instruments for agent in family):
            raise CommandError(f"the models named {model} were trained on different instruments")
        first, last = day(start), day(end)
        try:
            since = first - timedelta(days=WARMUP_DAYS)
            market = market_from_csv_dir(Path(data), start=since, end=last, symbols=instruments)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        if list(market.symbols) != instruments:
            raise CommandError(f"the CSV files give {list(market.symbols)}, the model was trained on {instruments}")
        days = (market.ts + np.timedelta64(330, "m")).astype("datetime64[D]")  # IST trading days
        warmup = int((days < np.datetime64(first)).sum())
        if warmup < settings.RL_WINDOW:
            raise CommandError(f"only {warmup} bars before {first}: the model needs {settings.RL_WINDOW}")
        judged = Judged(market, warmup)
        costs = Costs(slippage_bps=settings.RL_SLIPPAGE_BPS, charges=True)
        capital = Decimal("1000000")
        seeds = []
        for agent in family:
            policy = ExportedPolicy.from_bytes(bytes(agent.policy))
            try:
                policy_fits(policy)
            except ApplicationError as exc:
                raise CommandError(f"{agent.name}: {exc.message}") from None
            band = agent_hyper(agent).band
            figures = policy_judged(
                policy.act, judged, window=settings.RL_WINDOW, capital=capital, costs=costs, band=band
            )
            seeds.append({"name": agent.name, "seed": agent.seed, **figures})
        result = {
            "model": model,
            "from": str(first),
            "to": str(last),
            "instruments": instruments,
            "seeds": seeds,
            "median": {key: median_of(seeds, key) for key in FIGURES if key != "charges_paid"},
            "benchmarks": benchmarks_judged(judged, capital=capital, costs=costs),
        }
        self.stdout.write(json.dumps(result, indent=2))
