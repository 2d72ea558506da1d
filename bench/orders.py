"""Latency of POST /api/v1/orders (paper MARKET order, risk checks and audit included) at fixed rates.

Starts daphne, the audit sequencer and an outbox dispatcher (so orders fill, as in production) on a
throwaway database, then sends orders open-loop at each rate for a few seconds, each with its own
Idempotency-Key as the UI and API clients send: each request has a scheduled send time and its latency
counts from then, so a server that falls behind shows it. Orders are spread over 20 accounts so the
per-account limit of 10 orders per second is not what is measured. Prints one JSON object: p50/p95/p99
at each rate, how many of that rate's orders the worker had filled when its last one was answered,
the audit rows still waiting for the sequencer, the CPU per order of each process, and the highest rate
whose p95 stayed under 25 ms with no errors. Afterwards it checks that each order reached the paper
exchange exactly once and that the audit chain verifies.
"""

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

from _cpu import cpu_seconds
from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

PREFIX = django_start("orders")

from tradingsite.processes import Processes, shared_env  # noqa: E402

RATES = [int(r) for r in os.environ.get("BENCH_ORDER_RATES", "25,50,100,150").split(",")]
SECONDS = float(os.environ.get("BENCH_ORDER_SECONDS", "6"))
# With the worker (default), orders fill while the load runs, as in production, sharing the machine's
# two cores; BENCH_ORDER_WORKER=0 measures the API alone, orders queueing for a worker that is not there.
WITH_WORKER = os.environ.get("BENCH_ORDER_WORKER", "1") != "0"
# Worker processes filling orders (Celery's prefork pool). On this two-core machine one measures best:
# a second competes with the web process for the CPU (p95 at 25/s: 62 ms with one, 391 ms with two).
WORKER_CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "1"))
# How orders reach the worker: "redis" (an outbox dispatcher process reading the Redis list) or "celery"
# (a Celery task per order, and the Celery worker sends it).
DISPATCH = os.environ.get("BENCH_ORDER_DISPATCH", "redis")
ACCOUNTS = 20
TARGET_P95_MS = 25.0


def cpu_by_side(processes) -> dict[str, float]:
    # Each child leads its own process group (started in a new session), so its group is all of it.
    sides = {
        name: cpu_seconds(lambda p, group=child.pid: p.group == group) for name, child in processes.children.items()
    }
    sides["postgres"] = cpu_seconds(lambda p: p.name == "postgres")
    sides["redis"] = cpu_seconds(lambda p: p.name.startswith("redis-server"))
    sides["load_generator"] = cpu_seconds(lambda p: p.pid == os.getpid())
    return sides


def fixtures() -> list[tuple[str, int]]:
    """20 traders with a paper account each and an API token; one instrument with a price."""
    from trading.market.prices import price_record
    from trading.models import Instrument
    from trading.orders.accounts import account_create, account_limits_set
    from tradingsite.roles import TRADER, user_create
    from tradingsite.tokens import api_token_create

    instrument = Instrument.objects.create(
        instrument_token=738561, tradingsymbol="RELIANCE", name="RELIANCE", exchange="NSE", segment="NSE"
    )
    price_record(instrument=instrument, price=Decimal("2500.00"), volume=1_000_000)
    clients = []
    for n in range(ACCOUNTS):
        user = user_create(username=f"bench{n}", password="bench-password-123", roles={TRADER})
        account = account_create(owner=user, name="bench", cash=Decimal("1000000000"))
        big = Decimal("100000000000")
        account_limits_set(
            account=account,
            changes={"max_order_value": big, "max_position_value": big, "max_gross_exposure": big},
        )
        clients.append((api_token_create(user=user, name="bench", scope="trade", days=1).key, account.pk))
    return clients


class HttpClient:
    """One keep-alive HTTP/1.1 connection, written and read directly on asyncio streams.

    The load generator shares the machine with the server, so it must cost little: a `requests` session
    on a thread per connection spent about 3.5 ms of CPU per order, a request written as bytes and its
    answer read by Content-Length (or chunk by chunk) well under one.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        import asyncio

        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        lines = [f"POST {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Content-Type: application/json"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            fields = dict(line.split(":", 1) for line in header_lines if ":" in line)
            fields = {name.strip().lower(): value.strip() for name, value in fields.items()}
            if "content-length" in fields:
                await self.reader.readexactly(int(fields["content-length"]))
            elif fields.get("transfer-encoding", "").lower() == "chunked":
                while size := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                    await self.reader.readexactly(size + 2)
                await self.reader.readuntil(b"\r\n")
            if fields.get("connection", "").lower() == "close":
                self.close()
            return int(status_line.split(" ", 2)[1])
        except BaseException:
            self.close()  # a half-read answer leaves the connection unusable
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def run_rate(base: str, clients, rate: int, seconds: float) -> dict:
    import asyncio
    from urllib.parse import urlsplit

    from django.utils import timezone

    phase_started = timezone.now()
    total = int(rate * seconds)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    address = urlsplit(base)
    body = json.dumps(
        {
            "exchange": "NSE",
            "tradingsymbol": "RELIANCE",
            "transaction_type": "BUY",
            "order_type": "MARKET",
            "product": "CNC",
            "quantity": 1,
        }
    ).encode()

    async def load() -> None:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.2
        pending = iter(range(total))

        async def connection() -> None:
            client = HttpClient(address.hostname, address.port)
            for i in pending:  # shared: each connection takes the next request due
                scheduled = start + i / rate
                delay = scheduled - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                token, _ = clients[i % len(clients)]
                headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid.uuid4().hex}
                try:
                    status = await asyncio.wait_for(client.post("/api/v1/orders", body, headers), timeout=10)
                    outcome = "ok" if status == 201 else f"http_{status}"
                except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    outcome = type(exc).__name__
                    client.close()
                elapsed = loop.time() - scheduled
                if outcome == "ok":
                    latencies.append(elapsed)
                else:
                    errors[outcome] = errors.get(outcome, 0) + 1
            client.close()

        # Enough connections that a slow answer does not hold back the requests due after it.
        await asyncio.gather(*(connection() for _ in range(min(64, max(8, rate // 4)))))

    start = time.perf_counter() + 0.2  # when the first request is due, as load() schedules it
    asyncio.run(load())
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 2) if ordered else None

    from audit.sequencer import audit_backlog
    from trading.models import Order

    answered = time.perf_counter()
    phase = Order.objects.filter(created_at__gte=phase_started)
    placed, filled = phase.count(), phase.filter(status=Order.Status.COMPLETE).count()
    return {
        "rate_per_s": rate,
        "requests": total,
        "ok": len(latencies),
        "errors": errors,
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "filled_when_answered": filled,
        "filled_share": round(filled / placed, 3) if placed else None,
        "audit_unlinked_rows": audit_backlog().rows,
        "seconds": round(answered - start, 2),
    }


def settled(timeout: float = 120) -> float:
    """Seconds until every order is filled and every audit row linked (or the timeout)."""
    from audit.sequencer import audit_backlog
    from trading.models import Order

    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if not Order.objects.exclude(status=Order.Status.COMPLETE).exists() and audit_backlog().rows == 0:
            break
        time.sleep(0.2)
    return round(time.monotonic() - started, 2)


def checks() -> dict:
    """After the run: each order reached the paper exchange and was sent there once (a re-send would be
    counted in `submissions`, and never make a second exchange order), and the audit chain verifies."""
    from audit.chain import chain_verify
    from trading.models import Order, PaperExchangeOrder

    report = chain_verify()
    return {
        "orders": Order.objects.count(),
        "orders_at_the_exchange": PaperExchangeOrder.objects.count(),
        "orders_sent_more_than_once": PaperExchangeOrder.objects.filter(submissions__gt=1).count(),
        "orders_not_filled": Order.objects.exclude(status=Order.Status.COMPLETE).count(),
        "audit_chain_ok": report.ok,
        "audit_rows_linked": report.rows_checked,
    }


def main() -> None:
    with bench_run() as stack:
        clients = fixtures()
        processes = Processes(shared_env(PREFIX), Path(tempfile.mkdtemp(prefix="bench-orders-")))
        stack.callback(processes.close)
        queue = f"bench-{processes.port}"
        processes.env["CELERY_TASK_DEFAULT_QUEUE"] = queue
        processes.env["OUTBOX_DISPATCH"] = DISPATCH
        processes.web()
        processes.sequencer()
        if WITH_WORKER and DISPATCH == "redis":
            for n in range(WORKER_CONCURRENCY):
                processes.start(f"dispatcher{n}", [sys.executable, "manage.py", "outbox_dispatch"])
        elif WITH_WORKER:
            processes.worker(queue, concurrency=WORKER_CONCURRENCY)
        base = processes.base_url
        run_rate(base, clients, 20, 2)  # warm-up: connections, caches, code paths
        settled()
        results = []
        for rate in RATES:
            cpu_before = cpu_by_side(processes)
            result = run_rate(base, clients, rate, SECONDS)
            result["settled_after_s"] = settled() if WITH_WORKER else None
            cpu_after = cpu_by_side(processes)
            orders = max(1, result["requests"])
            result["cpu_ms_per_order"] = {
                side: round((cpu_after[side] - cpu_before.get(side, 0)) * 1000 / orders, 2) for side in cpu_after
            }
            results.append(result)
        after = checks()

    sustained = [
        r["rate_per_s"]
        for r in results
        if not r["errors"] and r["p95_ms"] is not None and r["p95_ms"] < TARGET_P95_MS and r["filled_share"] == 1
    ]
    at_100 = next((r for r in results if r["rate_per_s"] == 100), None)
    print(
        json.dumps(
            {
                "bench": "orders",
                "endpoint": "POST /api/v1/orders with an Idempotency-Key (paper MARKET, risk checks, audit, outbox)",
                "server": "daphne, 1 process; audit sequencer"
                + (
                    (
                        f"; {WORKER_CONCURRENCY} outbox dispatcher(s) on the Redis list filling the orders"
                        if DISPATCH == "redis"
                        else f"; celery worker (concurrency {WORKER_CONCURRENCY}) filling the orders"
                    )
                    if WITH_WORKER
                    else "; no worker running"
                )
                + "; load generator on the same 2-core machine",
                "seconds_per_rate": SECONDS,
                "at_100_per_s": at_100,
                "highest_rate_with_p95_under_25ms_all_filled": max(sustained) if sustained else None,
                "target_per_s": 100,
                "rates": results,
                "after": after,
            }
        )
    )


if __name__ == "__main__":
    main()
