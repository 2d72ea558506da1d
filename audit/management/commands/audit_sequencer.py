import logging
import signal
import threading

from django.core.management.base import BaseCommand
from django.db import connection

from audit.sequencer import APPLICATION_NAME, sequencer_run
from tradingsite.metrics_export import observability_start

logger = logging.getLogger("audit.sequencer")


class Command(BaseCommand):
    help = (
        "Link written audit events into the hash chain, every AUDIT_LINK_INTERVAL_SECONDS, until stopped "
        "(SIGTERM or Ctrl-C). Run one; a second one only waits its turn on the chain lock."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Link what is waiting now, then exit.")

    def handle(self, **options):
        if options["once"]:
            from audit.sequencer import audit_link_all

            self.stdout.write(f"linked {audit_link_all()} audit rows")
            return
        # The process's connections carry its name, so pg_stat_activity (and pg_locks joined to it) tell
        # the sequencer's hold of the chain lock from anyone else's, outside its transactions too.
        connection.settings_dict.setdefault("OPTIONS", {})["application_name"] = APPLICATION_NAME
        connection.close()
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        observability_start("tradingsite-sequencer")
        logger.info("audit sequencer started")
        sequencer_run(stop)
        logger.info("audit sequencer stopped")
