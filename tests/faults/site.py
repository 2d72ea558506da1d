"""The fault suite's whole site: its own PostgreSQL and Redis (tests/faults/servers.py), the fake Kite and
its ticker on loopback, and every process of the Procfile (web, sequencer, dispatcher, Celery worker and
beat, the feed on the fake ticker, the strategy runner), started as the Procfile starts them."""

import json
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

from tests.fakes.kite import FakeKite, FakeTicker, full_packet
from tests.faults.servers import FaultPostgres, FaultRedis
from tests.faults.site_setup import KITE_API_KEY, KITE_TOKEN
from tradingsite.processes import ROOT, Processes

DATABASE = "faults"
ALL = ("web", "sequencer", "dispatcher", "worker", "beat", "feed", "strategies")


@dataclass
class Prices:
    """What the fake ticker streams: each instrument's price, sent every `interval` seconds while running."""

    ticker: FakeTicker
    prices: dict[int, float]
    interval: float = 0.2
    sent: int = 0
    flip: bool = False  # each frame moves the price a tick up or back, so every frame is news
    volume_step: int = 10  # each frame trades this many shares of each instrument (the day's volume grows)
    volumes: dict[int, int] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> "Prices":
        threading.Thread(target=self.run, daemon=True).start()
        return self

    def packet(self, token: int, mode: str):
        price = self.prices.get(token)
        if price is None:
            return None
        price += 0.05 if self.flip else 0.0
        now = datetime.now(UTC)
        spread = [(100, price - 0.05 * level, 2) for level in range(1, 6)]
        offers = [(100, price + 0.05 * level, 2) for level in range(1, 6)]
        ohlc = (price, price, price, price)
        volume = self.volumes.get(token, 1000)
        return full_packet(
            token, price, last_trade_time=now, timestamp=now, buy=spread, sell=offers, volume=volume, ohlc=ohlc
        )

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            self.flip = not self.flip
            for token in self.prices:
                self.volumes[token] = self.volumes.get(token, 1000) + self.volume_step
            self.sent += self.ticker.send_ticks(self.packet)


class FaultSite:
    def __init__(self, base: Path):
        self.base = base
        self.postgres = FaultPostgres(base / "postgres")
        self.redis = FaultRedis(base / "redis")
        self.postgres.execute("postgres", f'CREATE DATABASE "{DATABASE}"')
        self.kite = FakeKite(api_key=KITE_API_KEY, api_secret="secret", redirect_url="http://127.0.0.1/kite/callback")
        self.kite.start()
        self.kite.access_tokens.add(KITE_TOKEN)
        self.ticker = FakeTicker(api_key=KITE_API_KEY, access_tokens={KITE_TOKEN}).start()
        prefix = f"faults-{uuid.uuid4().hex[:6]}"
        self.queue = prefix
        self.env = {
            "DATABASE_URL": self.postgres.url(DATABASE),
            "REDIS_URL": self.redis.url,
            "REDIS_NAMESPACE": prefix,
            "CACHE_KEY_PREFIX": prefix,
            "CHANNEL_LAYER_PREFIX": prefix,
            "CELERY_TASK_DEFAULT_QUEUE": prefix,
            "LOG_LEVEL": "WARNING",
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "KITE_API_ROOT": self.kite.root,
            "KITE_TICKER_ROOT": self.ticker.root,
            "KITE_TIMEOUT_SECONDS": "2",
            "KITE_ORDERS_ENABLED": "true",
            "KITE_ORDERS_PER_SECOND": "1000",
            "KITE_ORDERS_PER_MINUTE": "60000",
            "KITE_ORDERS_PER_DAY": "1000000",
            "FEED": "kite",
            "FEED_KITE_ACCOUNT": "faults-kite",
            "FEED_INSTRUMENTS": "INFY,RELIANCE",
            "FEED_FLUSH_SECONDS": "0.5",
            "FEED_ALWAYS_OPEN": "true",
            "API_THROTTLE_TOKEN_PER_MINUTE": "1000000",
            "API_THROTTLE_USER_PER_MINUTE": "1000000",
            # A claim held by a worker that died is taken over after this long.
            "OUTBOX_CLAIM_TIMEOUT_SECONDS": "10",
            "DATABASE_CONNECT_TIMEOUT": "2",
            "CIRCUIT_FAILURES": "3",
            "CIRCUIT_RESET_SECONDS": "8",
        }
        self.processes = Processes(self.env, base / "logs")
        setup = subprocess.run(
            [sys.executable, "-m", "tests.faults.site_setup"],
            cwd=ROOT,
            env=self.processes.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if setup.returncode != 0:
            raise RuntimeError(f"the fault suite's site could not be set up:\n{setup.stderr[-4000:]}")
        self.ids = json.loads(setup.stdout.strip().splitlines()[-1])
        self.token = self.ids["token"]
        self.prices = Prices(
            self.ticker, {i["token"]: 1500.0 if s == "INFY" else 2500.0 for s, i in self.ids["instruments"].items()}
        )
        self.prices.start()

    @property
    def url(self) -> str:
        return self.processes.base_url

    def api(self) -> requests.Session:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {self.token}"
        return session

    def start(self, name: str) -> None:
        """Start one process of the Procfile, as the Procfile starts it."""
        p = self.processes
        if name == "web":
            p.web()
        elif name == "sequencer":
            p.sequencer()
        elif name == "dispatcher":
            p.dispatcher()
        elif name == "worker":
            p.worker(self.queue)
        elif name == "beat":
            argv = [sys.executable, "-m", "celery", "-A", "tradingsite", "beat", "--loglevel", "WARNING"]
            argv += ["--scheduler", "django_celery_beat.schedulers:DatabaseScheduler"]
            argv += ["--schedule", str(self.base / "beat-schedule")]
            p.start("beat", argv)
        elif name == "feed":
            p.feed()
        elif name == "strategies":
            p.start("strategies", [sys.executable, "manage.py", "run_strategies"])
        else:
            raise ValueError(f"no process called {name}")

    def ensure(self) -> None:
        """Every server and process up (a scenario's fault undone), the web answering /readyz."""
        if not self.postgres.answers():
            self.postgres.start()
        if not self.redis.answers():
            self.redis.start()
        for name in ALL:
            process = self.processes.children.get(name)
            if process is None or process.poll() is not None:
                self.processes.children.pop(name, None)
                self.start(name)
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> float:
        """Seconds until /readyz answers 200."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the site was not ready within {timeout:.0f} s:\n{self.processes.logs()}")

    def sql(self, query: str, params=None) -> list[tuple]:
        return self.postgres.execute(DATABASE, query, params)

    def close(self) -> None:
        self.prices.stop.set()
        self.processes.close()
        self.ticker.stop()
        self.kite.stop()
        self.redis.stop()
        if self.postgres.answers():
            self.postgres.stop()
