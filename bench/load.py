"""A trading day's load on the whole site, stepped up until it misses its targets (Locust, headless).

Starts daphne, the audit sequencer, an outbox dispatcher and the simulated feed (always open, so prices
move and the market streams carry ticks) on a throwaway database with the NIFTY 50 and a day of minute
bars each. Then, for each step of BENCH_LOAD_USERS (5, 10, 20, 40, 80, 160, 320 by default), it runs
Locust in a process of its own (bench/_load_locust.py) with that many traders for BENCH_LOAD_SECONDS
(20 by default) after a warm-up. Each trader has an account of its own (with two positions), an API
token and a browser session: it polls quotes, the chart's bars, its orders, positions and portfolio
summary as the trade page does, places a LIMIT order under the market (it rests) and cancels one, each
on a fixed interval, and holds the market and account websockets open. Latencies count from when each
request was due (coordinated omission accounted for, as bench/orders.py does).

Targets, per endpoint: p95 under 50 ms for reads, under 100 ms for placing and cancelling an order; and
under 0.1 % errors over all requests and websocket connections. Stepping stops after the first step
that misses one. Prints one JSON object: per step the requests per second, corrected p50/p95/p99 and
errors per endpoint, the websocket clients and their messages per second, the CPU each process used
over the measured window (web, dispatcher, feed, sequencer, load generator, PostgreSQL, Redis), and how
long the dispatcher and sequencer took to catch up afterwards; then the highest step within the targets
and the targets the next one missed.

The per-token and per-user API throttles are raised out of the way (each trader sends about 80 requests
a minute, well under them anyway), and each account places one order per 10 s, far below its limit.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _cpu import cpu_seconds, machine_busy_seconds
from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

UNTHROTTLED = str(10**9)
PREFIX = django_start("load", API_THROTTLE_TOKEN_PER_MINUTE=UNTHROTTLED, API_THROTTLE_USER_PER_MINUTE=UNTHROTTLED)

from tradingsite.processes import ROOT, Processes, shared_env  # noqa: E402

USERS = [int(n) for n in os.environ.get("BENCH_LOAD_USERS", "5,10,20,40,80,160,320").split(",")]
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "20"))
WARMUP = float(os.environ.get("BENCH_LOAD_WARMUP", "5"))
SPAWN_RATE = 40.0  # traders started per second, each opening two websockets
WATCHLIST = 10
READ_P95_MS, ORDER_P95_MS, ERROR_SHARE = 50.0, 100.0, 0.001
LOCUSTFILE = Path(__file__).resolve().parent / "_load_locust.py"


def servers() -> tuple[int, int]:
    """The process ids of the PostgreSQL server (its postmaster) and the Redis server this bench uses, so
    other servers on the machine (a test's embedded ones) are not counted; 0 where not on this machine."""
    import redis
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        stat = Path(f"/proc/{backend}/stat").read_text()
        postmaster = int(stat[stat.rindex(")") + 2 :].split()[1])
    except OSError:
        postmaster = 0
    return postmaster, int(redis.Redis.from_url(settings.REDIS_URL).info("server")["process_id"])


def cpu_by_process(processes: Processes, locust: subprocess.Popen, postmaster: int, redis: int) -> dict[str, float]:
    # Each child leads its own process group (started in a new session), so its group is all of it.
    sides = {
        name: cpu_seconds(lambda p, group=child.pid: p.group == group) for name, child in processes.children.items()
    }
    sides["load_generator"] = cpu_seconds(lambda p: p.group == locust.pid or p.pid == os.getpid())
    # The postmaster and its backends (each in a session of its own); its reaped backends count in its own.
    sides["postgres"] = cpu_seconds(lambda p: postmaster != 0 and postmaster in (p.pid, p.parent))
    sides["redis"] = cpu_seconds(lambda p: p.pid == redis)
    # The whole machine's busy time, whoever used it: more than the sides add up to means someone else ran.
    sides["machine"] = machine_busy_seconds()
    return sides


def market_fixtures() -> list:
    """The NIFTY 50 with reference prices, and the last 375 minutes of bars for each (the chart's day)."""
    from django.utils import timezone

    from trading.market.bars import BarBuilder, bars_write
    from trading.market.instruments import instruments_seed_demo
    from trading.models import Instrument

    instruments_seed_demo()
    instruments = list(Instrument.objects.order_by("instrument_token"))
    builder, now = BarBuilder(), timezone.now()
    for instrument in instruments:
        for minute in range(375):
            price = instrument.last_price * (1 + Decimal((minute * 7 + instrument.pk) % 41 - 20) / 1000)
            builder.add(instrument.pk, price.quantize(Decimal("0.05")), 100, now - timedelta(minutes=375 - minute))
    bars_write(builder.drain())
    return instruments


def traders_add(seats: list[dict], count: int, instruments: list) -> None:
    """Seats for traders up to `count`: a user with an API token and a session, an account with two
    positions (bought at the market, filled by the dispatcher), and a watchlist."""
    from django.test import Client

    from trading.orders.accounts import account_create, account_limits_set
    from trading.orders.services import order_place
    from tradingsite.roles import TRADER, user_create
    from tradingsite.tokens import api_token_create

    big = Decimal("100000000000")
    while len(seats) < count:
        n = len(seats)
        # No password: hashing one costs a third of a second, and the traders sign in by token and session.
        user = user_create(username=f"load{n}", password=None, roles={TRADER})
        account = account_create(owner=user, name="load", cash=Decimal("100000000"))
        account_limits_set(
            account=account,
            changes={"max_order_value": big, "max_position_value": big, "max_gross_exposure": big},
        )
        watchlist = [instruments[(n * 7 + k) % len(instruments)] for k in range(WATCHLIST)]
        for instrument in watchlist[:2]:
            order_place(
                account=account,
                instrument=instrument,
                transaction_type="BUY",
                order_type="MARKET",
                product="CNC",
                quantity=10,
                placed_by=user,
            )
        browser = Client()
        browser.force_login(user)
        seats.append(
            {
                "token": api_token_create(user=user, name="load", scope="trade", days=1).key,
                "cookie": browser.cookies["sessionid"].value,
                "account": account.pk,
                "watchlist": [instrument.instrument_token for instrument in watchlist],
                "prices": {instrument.instrument_token: str(instrument.last_price) for instrument in watchlist},
            }
        )


def settled(timeout: float = 120) -> float:
    """Seconds until no order waits for the dispatcher and no audit row for the sequencer (or the timeout)."""
    from audit.sequencer import audit_backlog
    from trading.models import Order

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        waiting = Order.objects.filter(status=Order.Status.RECEIVED, broker_order_id="").exists()
        if not waiting and audit_backlog().rows == 0:
            break
        time.sleep(0.2)
    return round(time.monotonic() - started, 2)


def step_run(processes: Processes, seats: list[dict], users: int, work: Path) -> dict:
    """One step: Locust with `users` traders; its figures, and each process's CPU over the measured window."""
    step_dir = work / f"step-{users}"
    step_dir.mkdir()
    config = {
        "base": processes.base_url,
        "users": seats[:users],
        "users_count": users,
        "spawn_rate": SPAWN_RATE,
        "warmup": WARMUP,
        "seconds": SECONDS,
        "window": str(step_dir / "window.json"),
        "out": str(step_dir / "results.json"),
    }
    (step_dir / "config.json").write_text(json.dumps(config))
    backstop = users / SPAWN_RATE + WARMUP + SECONDS + 60
    argv = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--only-summary"]
    argv += ["--users", str(users), "--spawn-rate", str(SPAWN_RATE), "--run-time", f"{backstop:.0f}s"]
    argv += ["--host", processes.base_url, "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    env = {**os.environ, "BENCH_LOAD_CONFIG": str(step_dir / "config.json")}
    with (step_dir / "locust.log").open("wb") as log:
        locust = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        window = until_file(step_dir / "window.json", locust, timeout=60)
        time.sleep(max(0.0, window["start"] - time.monotonic()))
        before = cpu_by_process(processes, locust, *servers())
        time.sleep(max(0.0, window["end"] - time.monotonic()))
        after = cpu_by_process(processes, locust, *servers())
        elapsed = time.monotonic() - window["start"]
        locust.wait(timeout=backstop + 30)
    finally:
        if locust.poll() is None:
            locust.kill()
            locust.wait()
    log_text = (step_dir / "locust.log").read_text(errors="replace")
    if not (step_dir / "results.json").exists():
        raise RuntimeError(f"Locust wrote no results for {users} users:\n{log_text[-4000:]}")
    figures = json.loads((step_dir / "results.json").read_text())
    cpu = {name: round(after[name] - before.get(name, 0), 2) for name in after}
    return step_summary(users, figures, cpu, elapsed, "CPU usage above" in log_text)


def step_summary(users: int, figures: dict, cpu: dict, elapsed: float, locust_cpu_warning: bool) -> dict:
    endpoints = {}
    requests = errors = 0
    for name, endpoint in figures["endpoints"].items():
        failed = sum(endpoint["errors"].values())
        requests, errors = requests + endpoint["requests"], errors + failed
        endpoints[name] = {
            "requests_per_s": round(endpoint["requests"] / SECONDS, 1),
            **{key: endpoint[key] for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
            "errors": failed,
            "error_kinds": endpoint["errors"],
        }
    streams = {}
    for name, stream in figures["streams"].items():
        failed = sum(stream["failed"].values())
        requests, errors = requests + stream["clients"], errors + failed
        streams[name] = {
            "clients": stream["clients"],
            "connected": stream["connected"],
            "failed": stream["failed"],
            "messages_per_s": round(stream["messages"] / SECONDS, 1),
            "connect_p95_ms": stream["connect_p95_ms"],
        }
    machine = cpu.pop("machine")
    cores = {name: round(seconds / elapsed, 2) for name, seconds in cpu.items()}
    step = {
        "users": users,
        "requests_per_s": round(sum(e["requests_per_s"] for e in endpoints.values()), 1),
        "error_share": round(errors / requests, 5) if requests else None,
        "endpoints": endpoints,
        "websockets": streams,
        "p95_ms_by_second": figures["p95_ms_by_second"],
        "cpu_seconds": cpu,
        "cpu_cores": cores,
        "machine_busy_cores": round(machine / elapsed, 2),
        # Busy time of processes that are none of the above (a test or fuzzer running beside the bench).
        "other_processes_cores": round((machine - sum(cpu.values())) / elapsed, 2),
        "load_generator_cpu_warning": locust_cpu_warning,
    }
    step["missed"] = targets_missed(step)
    return step


def targets_missed(step: dict) -> list[dict]:
    """The targets this step missed, the furthest over first."""
    missed = []
    for name, endpoint in step["endpoints"].items():
        target = ORDER_P95_MS if name.startswith(("POST", "DELETE")) else READ_P95_MS
        p95 = endpoint["p95_ms"]  # None: no answer at all, which the error share counts
        if p95 is not None and p95 >= target:
            miss = {"target": f"p95 < {target:.0f} ms", "endpoint": name, "value": p95}
            missed.append({**miss, "times_target": round(p95 / target, 2)})
    share = step["error_share"]
    if share is not None and share >= ERROR_SHARE:
        miss = {"target": "errors < 0.1 %", "endpoint": "all", "value": share}
        missed.append({**miss, "times_target": round(share / ERROR_SHARE, 2)})
    return sorted(missed, key=lambda miss: -miss["times_target"])


def until_file(path: Path, process: subprocess.Popen, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"Locust did not start its step (exit {process.poll()}); see {path.parent}/locust.log")
        time.sleep(0.05)
    return json.loads(path.read_text())


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    steps: list[dict] = []
    with bench_run() as stack:
        instruments = market_fixtures()
        processes = Processes(shared_env(PREFIX), work / "logs")
        stack.callback(processes.close)
        processes.web()
        processes.sequencer()
        processes.dispatcher()
        processes.feed(FEED="simulated", FEED_ALWAYS_OPEN="true")
        seats: list[dict] = []
        for users in USERS:
            traders_add(seats, users, instruments)
            settled()
            step = step_run(processes, seats, users, work)
            step["caught_up_after_s"] = settled()  # dispatcher and sequencer, once the load stopped
            steps.append(step)
            print(f"[load] {users} users: missed {[m['target'] for m in step['missed']]}", file=sys.stderr)
            if step["missed"]:
                break

    within = [step["users"] for step in steps if not step["missed"]]
    broken = next((step for step in steps if step["missed"]), None)
    print(
        json.dumps(
            {
                "bench": "load",
                "server": "daphne (1 process), audit sequencer, outbox dispatcher, simulated feed (50 instruments); "
                f"Locust in one process; {os.cpu_count()} cores shared by all",
                "seconds_per_step": SECONDS,
                "warmup_s": WARMUP,
                "targets": {"read_p95_ms": READ_P95_MS, "order_p95_ms": ORDER_P95_MS, "error_share": ERROR_SHARE},
                "highest_users_within_targets": max(within) if within else None,
                "first_step_missing_targets": None if broken is None else broken["users"],
                "missed_at_that_step": None if broken is None else broken["missed"],
                "cpu_cores_at_that_step": None if broken is None else broken["cpu_cores"],
                "machine_busy_cores_at_that_step": None if broken is None else broken["machine_busy_cores"],
                "steps": steps,
                "logs": str(work),
            }
        )
    )


if __name__ == "__main__":
    main()
