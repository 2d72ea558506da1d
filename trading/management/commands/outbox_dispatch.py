import logging
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand

from trading.brokers.dispatch import outbox_dispatch_run
from tradingsite.metrics_export import observability_start

logger = logging.getLogger("trading.outbox")


class Command(BaseCommand):
    help = (
        "Send outbox entries to the brokers as the order services hand them over on Redis "
        "(OUTBOX_DISPATCH=redis), until stopped (SIGTERM or Ctrl-C). Run as many as the load needs."
    )

    def handle(self, **options):
        if settings.OUTBOX_DISPATCH != "redis":
            logger.warning("OUTBOX_DISPATCH is %r: nothing is handed to this dispatcher", settings.OUTBOX_DISPATCH)
        stop = threading.Event()
        observability_start("tradingsite-dispatcher")
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        logger.info("outbox dispatcher started")
        outbox_dispatch_run(stop)
        logger.info("outbox dispatcher stopped")
