"""Latency of POST /api/v1/orders (paper MARKET order, risk checks and audit included) at fixed rates.

Starts daphne and a Celery worker (so orders fill, as in production) on a throwaway database, then
sends orders open-loop at each rate for a few seconds: each request has a scheduled send time and its
latency counts from then, so a server that falls behind shows it. Orders are spread over 20 accounts
so the per-account limit of 10 orders per second is not what is measured. Prints one JSON object:
p50/p95/p99 at each rate, and the highest rate whose p95 stayed under 25 ms with no errors.
"""

import json
import os
import statistics
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

PREFIX = django_start("orders")

import requests  # noqa: E402

from tradingsite.processes import Processes, shared_env  # noqa: E402

RATES = [int(r) for r in os.environ.get("BENCH_ORDER_RATES", "10,25,50,100").split(",")]
SECONDS = float(os.environ.get("BENCH_ORDER_SECONDS", "6"))
# With the worker (default), orders fill while the load runs, as in production, sharing the machine's
# two cores; BENCH_ORDER_WORKER=0 measures the API alone, orders queueing for a worker that is not there.
WITH_WORKER = os.environ.get("BENCH_ORDER_WORKER", "1") != "0"
ACCOUNTS = 20
TARGET_P95_MS = 25.0


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


def run_rate(base: str, clients, rate: int, seconds: float) -> dict:
    total = int(rate * seconds)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    next_index = iter(range(total))
    index_lock = threading.Lock()
    body = {
        "exchange": "NSE",
        "tradingsymbol": "RELIANCE",
        "transaction_type": "BUY",
        "order_type": "MARKET",
        "product": "CNC",
        "quantity": 1,
    }

    def worker() -> None:
        session = requests.Session()
        while True:
            with index_lock:
                i = next(next_index, None)
            if i is None:
                return
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            token, _ = clients[i % len(clients)]
            try:
                response = session.post(
                    f"{base}/api/v1/orders", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
                )
                outcome = "ok" if response.status_code == 201 else f"http_{response.status_code}"
            except requests.RequestException as exc:
                outcome = type(exc).__name__
            elapsed = time.perf_counter() - scheduled
            with lock:
                if outcome == "ok":
                    latencies.append(elapsed)
                else:
                    errors[outcome] = errors.get(outcome, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(min(64, max(8, rate // 4)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000, 2) if ordered else None

    return {
        "rate_per_s": rate,
        "requests": total,
        "ok": len(latencies),
        "errors": errors,
        "p50_ms": round(statistics.median(ordered) * 1000, 2) if ordered else None,
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    with bench_run() as stack:
        clients = fixtures()
        processes = Processes(shared_env(PREFIX), Path(tempfile.mkdtemp(prefix="bench-orders-")))
        stack.callback(processes.close)
        queue = f"bench-{processes.port}"
        processes.env["CELERY_TASK_DEFAULT_QUEUE"] = queue
        processes.web()
        if WITH_WORKER:
            processes.worker(queue)
        base = processes.base_url
        run_rate(base, clients, 20, 2)  # warm-up: connections, caches, code paths
        results = [run_rate(base, clients, rate, SECONDS) for rate in RATES]
        from trading.models import Order

        filled = Order.objects.filter(status=Order.Status.COMPLETE).count()
        placed = Order.objects.count()

    sustained = [
        r["rate_per_s"] for r in results if not r["errors"] and r["p95_ms"] is not None and r["p95_ms"] < TARGET_P95_MS
    ]
    at_100 = next((r for r in results if r["rate_per_s"] == 100), None)
    print(
        json.dumps(
            {
                "bench": "orders",
                "endpoint": "POST /api/v1/orders (paper MARKET, risk checks, audit, outbox)",
                "server": "daphne, 1 process"
                + ("; celery worker (concurrency 1) filling the orders" if WITH_WORKER else "; no worker running")
                + "; load generator on the same 2-core machine",
                "seconds_per_rate": SECONDS,
                "at_100_per_s": at_100,
                "highest_rate_with_p95_under_25ms": max(sustained) if sustained else None,
                "target_per_s": 100,
                "rates": results,
                "orders_placed": placed,
                "orders_filled_by_worker": filled,
            }
        )
    )


if __name__ == "__main__":
    main()
