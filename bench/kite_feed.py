"""Kite feed throughput: full-mode ticks per second carried from Kite's websocket into Redis and the
channel layer.

The fake Kite websocket of the test suite (tests/fakes/kite.py) streams binary frames of full-mode
packets (184 bytes each, built from the official `ticker_full.packet`) for BENCH_KITE_INSTRUMENTS
instruments, spread by the feed over connections of 3000. The real KiteTicker parses them; the feed
turns them into ticks with quotes and depth; `FeedRunner` publishes each to its channel-layer group,
stores prices and quotes in Redis, builds minute bars and writes them to a throwaway database. The
fake sends as fast as the feed takes ticks (it waits while two rounds are in flight), so
the figure is the sustained rate. A channel-layer subscriber on one instrument's group checks that
ticks come out the other end. Prints one JSON object.
"""

import asyncio
import json
import os
import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

PREFIX = django_start("kite")

from channels.layers import get_channel_layer  # noqa: E402

from tests.fakes.kite import FIXTURES, FakeTicker, packet_with  # noqa: E402
from trading.feeds.base import feed_instruments  # noqa: E402
from trading.feeds.kite import KiteFeed  # noqa: E402
from trading.feeds.runner import FeedRunner  # noqa: E402
from trading.realtime.streams import tick_group  # noqa: E402

INSTRUMENTS = int(os.environ.get("BENCH_KITE_INSTRUMENTS", "3000"))
WARMUP = float(os.environ.get("BENCH_KITE_WARMUP", "3"))
SECONDS = float(os.environ.get("BENCH_KITE_SECONDS", "10"))


def instruments_make() -> list[int]:
    from trading.models import Instrument

    tokens = [(n + 1) * 256 + 1 for n in range(INSTRUMENTS)]  # NSE segment: prices in paise
    Instrument.objects.bulk_create(
        Instrument(
            instrument_token=token,
            tradingsymbol=f"KB{n:05d}",
            name=f"KB{n:05d}",
            exchange="NSE",
            segment="NSE",
            last_price=Decimal("1500.00"),
        )
        for n, token in enumerate(tokens)
    )
    return tokens


def sender(ticker: FakeTicker, runner: FeedRunner, rounds: list[dict], stop: threading.Event, sent: list[int]) -> None:
    """Frames of every subscribed instrument, round after round of prepared packets, as fast as the feed
    keeps up: at most two rounds in flight. (Building packets here would take the interpreter from the
    feed being measured.)"""
    number = 0
    while not stop.is_set():
        if sent[0] - runner.ticks > 2 * INSTRUMENTS:  # two rounds in flight at most
            time.sleep(0.0005)
            continue
        packets = rounds[number % len(rounds)]
        number += 1
        sent[0] += ticker.send_ticks(lambda token, mode, packets=packets: packets.get(token))


def rounds_make(full: bytes, tokens: list[int]) -> list[dict]:
    """Ten rounds of packets: prices a paisa apart, the day's volume growing, stamped now."""
    now = datetime.now(UTC)
    return [
        {token: packet_with(full, token=token, paise=150000 + n, volume=1000 + n, at=now) for token in tokens}
        for n in range(10)
    ]


async def measure(feed: KiteFeed, ticker: FakeTicker, tokens: list[int], full: bytes) -> dict:
    rounds = rounds_make(full, tokens)
    runner = FeedRunner(feed)
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(tick_group(tokens[0]), channel)
    received = [0]

    async def listen():
        while True:
            await layer.receive(channel)
            received[0] += 1

    listener = asyncio.create_task(listen())
    task = asyncio.create_task(runner.run())
    deadline = time.monotonic() + 20
    while len(ticker.subscribed()) < len(tokens):
        if time.monotonic() > deadline:
            raise SystemExit("the feed did not subscribe every instrument within 20 s")
        await asyncio.sleep(0.05)
    stop, sent = threading.Event(), [0]
    thread = threading.Thread(target=sender, args=(ticker, runner, rounds, stop, sent), daemon=True)
    thread.start()
    await asyncio.sleep(WARMUP)
    ticks_before, sent_before, received_before = runner.ticks, sent[0], received[0]
    started = time.monotonic()
    await asyncio.sleep(SECONDS)
    elapsed = time.monotonic() - started
    carried, offered, heard = runner.ticks - ticks_before, sent[0] - sent_before, received[0] - received_before
    stop.set()
    thread.join()
    task.cancel()
    listener.cancel()
    await asyncio.gather(task, listener, return_exceptions=True)
    return {
        "connections": ticker.opened,
        "ticks_sent_per_s": round(offered / elapsed),
        "ticks_carried_per_s": round(carried / elapsed),
        "ticks_heard_on_one_group_per_s": round(heard / elapsed, 1),
        "ticks_queued_at_end": len(feed.pending),
    }


def main() -> None:
    if not (FIXTURES / "ticker_full.packet").exists():
        print(json.dumps({"bench": "kite_feed", "skipped": f"the Kite ticker packets are not at {FIXTURES}"}))
        return
    import base64

    full = base64.b64decode((FIXTURES / "ticker_full.packet").read_text())
    with bench_run() as stack:
        ticker = FakeTicker(api_key="bench", access_tokens={"bench-token"}).start()
        stack.callback(ticker.stop)
        tokens = instruments_make()
        feed = KiteFeed(
            feed_instruments(priced_only=False),
            api_key="bench",
            access_token="bench-token",
            mode="full",
            root=ticker.root,
        )
        figures = asyncio.run(measure(feed, ticker, tokens, full))
        print(
            json.dumps(
                {"bench": "kite_feed", "mode": "full", "instruments": INSTRUMENTS, "seconds": SECONDS, **figures}
            )
        )


if __name__ == "__main__":
    main()
