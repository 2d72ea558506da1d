import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tradingsite.command_args import day
from tradingsite.exceptions import ApplicationError

BAR_WIDTH = 30


def instruments_exchange_named(names: list[str]):
    from strategies.services import instruments_named

    return (f"{i.exchange}:{i.tradingsymbol}" for i in instruments_named(names))


class Command(BaseCommand):
    help = (
        "Train an RL agent into the registry on daily bars up to --to: from a folder of CSV files (the "
        "../shared/data/nifty100 layout) with --data, else from the database's bars of --instruments. "
        "Checkpoints as it goes; run it again with the same --name to resume a run that was stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument("--data", help="a folder of <SYMBOL>.csv daily bars")
        parser.add_argument("--to", dest="end", required=True, help="the last day of training data, YYYY-MM-DD")
        parser.add_argument("--from", dest="start", help="the first day (default: the data's first)")
        parser.add_argument("--instruments", nargs="*", default=[], help="symbols (CSV) or EXCHANGE:SYMBOL (database)")
        parser.add_argument("--steps", type=int, default=None, help="environment steps (default RL_TRAIN_STEPS)")
        parser.add_argument("--seed", type=int, default=0, help="the (first) seed")
        parser.add_argument("--seeds", type=int, default=1, help="train this many, NAME-seed<N> each, from --seed on")
        parser.add_argument("--algorithm", choices=["ppo", "a2c"], default=None, help="default RL_ALGORITHM")

    def progress(self, fraction: float) -> None:
        filled = int(round(fraction * BAR_WIDTH))
        self.stderr.write(f"\r[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%}", ending="")
        self.stderr.flush()

    def handle(self, name, data, end, start, instruments, steps, seed, seeds, algorithm, **options):
        from rl.data import market_for

        if seeds < 1:
            raise CommandError("--seeds must be at least 1")
        end_day, start_day = day(end), day(start) if start else None
        folder = Path(data) if data else None
        try:
            market = market_for(data=folder, instruments=instruments, start=start_day, end=end_day)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        # The registry keeps CSV symbols as the files name them, the database's as EXCHANGE:SYMBOL.
        names = list(market.symbols) if folder else list(instruments_exchange_named(instruments))
        trained = []
        for k in range(seeds):
            each = name if seeds == 1 else f"{name}-seed{seed + k}"
            agent = self.train_one(each, seed + k, market, names, folder, start_day, end_day, steps, algorithm)
            trained.append(
                {
                    "name": agent.name,
                    "seed": agent.seed,
                    "status": agent.status,
                    "steps": agent.steps_done,
                    "policy_sha256": agent.policy_sha256,
                    "curve": agent.curve[-5:],
                }
            )
        self.stdout.write(json.dumps(trained[0] if seeds == 1 else trained, indent=2))

    def train_one(self, name, seed, market, names, folder, start_day, end_day, steps, algorithm):
        from rl.models import AgentModel
        from rl.services import agent_create, agent_train_run
        from rl.training import Hyper

        agent = AgentModel.objects.filter(name=name).first()
        try:
            if agent is None:
                agent = agent_create(
                    name=name,
                    instruments=names,
                    data_from=start_day or market.ts[0].astype("datetime64[D]").item(),
                    data_to=end_day,
                    seed=seed,
                    steps=steps or settings.RL_TRAIN_STEPS,
                    hyper=Hyper(algorithm=algorithm or settings.RL_ALGORITHM),
                    data_source=str(folder.resolve()) if folder else "",
                )
            elif agent.status != AgentModel.Status.TRAINING:
                raise CommandError(f"agent {name!r} is {agent.status}: train a new one under another name")
            elif names != agent.instruments:
                raise CommandError(f"agent {name!r} was training on {agent.instruments}, not {names}")
            else:
                self.stderr.write(f"resuming {name} from step {agent.steps_done} of {agent.steps}")
            agent = agent_train_run(agent, market, progress=self.progress)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write("")
        return agent
