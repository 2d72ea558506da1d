import logging
import signal
import time

from django.core.management.base import BaseCommand

from tradingsite.metrics_export import observability_start

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = (
        "Run the enabled rule strategies and promoted RL policies: each decides on every closed bar of its "
        "interval and places its orders through the same risk checks as a person's. Checks every --every "
        "seconds until stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=5.0, help="seconds between checks for closed bars")
        parser.add_argument("--once", action="store_true", help="one check, then exit")

    def handle(self, every, once, **options):
        from django.db import Error as DatabaseFailure
        from django.db import close_old_connections

        from strategies.runner import strategies_step
        from tradingsite.heartbeat import beat

        stopping = []
        observability_start("tradingsite-strategies")
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        while True:
            beat("strategies")
            try:
                steps = strategies_step()
            except DatabaseFailure:  # PostgreSQL away (a restart, a failover): the next pass reconnects
                logger.warning("strategies could not be read; tried again in %s s", every, exc_info=True)
                steps = []
            for step in steps:
                if step.disabled:
                    self.stderr.write(f"{step.strategy}: disabled: {step.disabled}")
                elif step.failed:
                    self.stderr.write(f"{step.strategy}: failed this pass, tried again on the next: {step.failed}")
                elif step.orders:
                    placed = ", ".join(
                        f"{o.transaction_type} {o.quantity} {o.tradingsymbol} [{o.status}]" for o in step.orders
                    )
                    self.stdout.write(f"{step.strategy} on the bar of {step.decided_on.isoformat()}: {placed}")
            if once or stopping:
                return
            close_old_connections()  # between checks: a connection the database dropped is replaced
            time.sleep(every)
