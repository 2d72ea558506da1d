"""Tick-to-client latency: from the timestamp a tick gets in the feed to its arrival in a websocket client.

Starts the web process (daphne) and the feed (`run_feed`, simulated, always open) on a throwaway
database, with 200 instruments ticking 10 times a second each, then connects 100 websocket clients to
/ws/market/, each subscribed to a watchlist of 20 instruments drawn at random (seeded), and measures
every tick each client receives for a while after a warm-up. Ticks to one client are coalesced to
one frame per MARKET_WS_MIN_INTERVAL_MS (25 ms by default), which is part of the latency measured.
Prints one JSON object.
"""

import asyncio
import json
import os
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

PREFIX = django_start("ticks")

import websockets  # noqa: E402
from django.test import Client  # noqa: E402

from tradingsite.processes import Processes, shared_env  # noqa: E402

INSTRUMENTS = int(os.environ.get("BENCH_TICK_INSTRUMENTS", "200"))
RATE = float(os.environ.get("BENCH_TICK_RATE", "10"))
CLIENTS = int(os.environ.get("BENCH_TICK_CLIENTS", "100"))
WATCHLIST = int(os.environ.get("BENCH_TICK_WATCHLIST", "20"))
WARMUP = float(os.environ.get("BENCH_TICK_WARMUP", "5"))
SECONDS = float(os.environ.get("BENCH_TICK_SECONDS", "15"))
TARGET_P99_MS = 50.0


def fixtures() -> tuple[list[int], str]:
    """The instruments with a price each, and a logged-in trader's session cookie."""
    from trading.models import Instrument
    from tradingsite.roles import TRADER, user_create

    tokens = [7_000_000 + n for n in range(INSTRUMENTS)]
    Instrument.objects.bulk_create(
        Instrument(
            instrument_token=token,
            tradingsymbol=f"BENCH{n:03d}",
            name=f"BENCH{n:03d}",
            exchange="NSE",
            segment="NSE",
            last_price=Decimal("100.00") + n,
        )
        for n, token in enumerate(tokens)
    )
    user = user_create(username="bench-ticks", password="bench-password-123", roles={TRADER})
    client = Client()
    client.force_login(user)
    return tokens, client.cookies["sessionid"].value


async def client(url: str, origin: str, cookie: str, tokens: list[int], samples: list, counts: dict, measure_from):
    async with websockets.connect(
        url, origin=origin, additional_headers={"Cookie": f"sessionid={cookie}"}, max_size=None
    ) as socket:
        await socket.send(json.dumps({"action": "subscribe", "instruments": tokens}))
        async for raw in socket:
            received = time.time()
            message = json.loads(raw)
            if message.get("type") != "ticks" or received < measure_from[0]:
                continue
            counts["frames"] += 1
            for tick in message["ticks"]:
                samples.append(received - tick["t"])


async def measure(base: str, cookie: str, tokens: list[int]) -> dict:
    url = base.replace("http://", "ws://") + "/ws/market/"
    rng = random.Random(7)
    samples: list[float] = []
    counts = {"frames": 0}
    measure_from = [time.time() + 3600]
    tasks = [
        asyncio.create_task(client(url, base, cookie, rng.sample(tokens, WATCHLIST), samples, counts, measure_from))
        for _ in range(CLIENTS)
    ]
    await asyncio.sleep(WARMUP)
    failed = [task for task in tasks if task.done()]
    measure_from[0] = time.time()
    await asyncio.sleep(SECONDS)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    ordered = sorted(samples)

    def pct(p: float):
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 2) if ordered else None

    return {
        "clients_connected": CLIENTS - len(failed),
        "ticks_received": len(ordered),
        "ticks_received_per_s": round(len(ordered) / SECONDS),
        "ticks_expected_per_s": round(CLIENTS * WATCHLIST * RATE),
        "frames_per_s": round(counts["frames"] / SECONDS),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": round(ordered[-1] * 1000, 2) if ordered else None,
    }


def main() -> None:
    with bench_run() as stack:
        tokens, cookie = fixtures()
        log_dir = Path(tempfile.mkdtemp(prefix="bench-ticks-"))
        processes = Processes(shared_env(PREFIX), log_dir)
        stack.callback(processes.close)
        processes.web()
        processes.feed(FEED="simulated", FEED_ALWAYS_OPEN="true", FEED_TICKS_PER_SECOND=str(RATE))
        figures = asyncio.run(measure(processes.base_url, cookie, tokens))
        print(
            json.dumps(
                {
                    "bench": "ticks",
                    "instruments": INSTRUMENTS,
                    "ticks_per_second_each": RATE,
                    "clients": CLIENTS,
                    "watchlist_per_client": WATCHLIST,
                    "seconds": SECONDS,
                    **figures,
                    "target_p99_ms": TARGET_P99_MS,
                    "target_met": figures["p99_ms"] is not None and figures["p99_ms"] < TARGET_P99_MS,
                }
            )
        )


if __name__ == "__main__":
    main()
