"""The feed named by the settings (FEED): simulated, a replay of a CSV, or Kite's ticker."""

from pathlib import Path

from django.conf import settings

from trading.feeds.base import feed_instruments
from trading.feeds.replay import ReplayFeed, replay_events_from_csv
from trading.feeds.simulated import SimulatedFeed
from tradingsite.exceptions import ValidationError


def feed_from_settings():
    if settings.FEED == "kite":
        from trading.feeds.kite import kite_feed_from_settings

        return kite_feed_from_settings()
    if settings.FEED == "replay":
        if settings.FEED_SHARDS > 1:
            raise ValidationError("a replay is played by one feed process: FEED_SHARDS must be 1 with FEED=replay")
        if not settings.FEED_REPLAY_PATH:
            raise ValidationError("FEED=replay needs FEED_REPLAY_PATH (a CSV file or a folder of them)")
        every = {i.tradingsymbol: i for i in feed_instruments()}
        events = replay_events_from_csv(Path(settings.FEED_REPLAY_PATH))
        return ReplayFeed(events, every, speed=settings.FEED_REPLAY_SPEED)
    return SimulatedFeed(
        feed_instruments(settings.FEED_INSTRUMENTS, closes=True),
        seed=settings.FEED_SEED,
        ticks_per_second=settings.FEED_TICKS_PER_SECOND,
        volatility=float(settings.FEED_VOLATILITY),
        always_open=settings.FEED_ALWAYS_OPEN,
        quote_seconds=settings.FEED_QUOTE_SECONDS,
    )
