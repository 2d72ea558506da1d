import logging
import signal
import threading

from django.core.management.base import BaseCommand

logger = logging.getLogger("trading.feed")


class Command(BaseCommand):
    help = "Run the market-data feed process. No feed source is configured yet: the process starts and idles."

    def add_arguments(self, parser):
        parser.add_argument("--heartbeat", type=float, default=60.0, help="seconds between idle log lines")

    def handle(self, **options):
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        logger.info("feed started: no market-data source configured, idling")
        while not stop.wait(options["heartbeat"]):
            logger.info("feed idle")
        logger.info("feed stopped")
