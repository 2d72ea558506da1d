import asyncio
import contextlib
import logging
import signal

from django.core.management.base import BaseCommand, CommandError

from tradingsite.exceptions import ApplicationError
from tradingsite.metrics_export import observability_start

logger = logging.getLogger("trading.feed")


class Command(BaseCommand):
    help = (
        "Run the market-data feed (FEED: simulated, replay or kite): latest prices to Redis, ticks to websocket "
        "groups, minute bars to PostgreSQL, paper-exchange matching of resting orders."
    )

    def handle(self, **options):
        from trading.feeds.configured import feed_from_settings
        from trading.feeds.runner import FeedRunner

        try:
            feed = feed_from_settings()
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        runner = FeedRunner(feed)
        observability_start("tradingsite-feed")

        async def main():
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signum, stop.set)
            task = asyncio.create_task(runner.run(stop))
            waiter = asyncio.create_task(stop.wait())
            await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task.done():
                task.result()  # the feed ended (a replay) or failed
                return
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task  # the runner flushes what it built before it ends

        logger.info("feed started: %s", type(feed).__name__)
        asyncio.run(main())
        logger.info("feed stopped after %d ticks", runner.ticks)
