"""Audit-trail append throughput and latency, one writer and several at once, and the verify rate.

Runs against a throwaway database (Django's test-database machinery) so the append-only rows it
writes never reach the real trail. Prints one JSON object.
"""

import json
import os
import statistics
import threading
import time

from _django import bench_run, django_start  # bench/, the script's folder, is on sys.path

django_start("audit")

from django.db import connection  # noqa: E402

SEQUENTIAL = int(os.environ.get("BENCH_AUDIT_EVENTS", "2000"))
THREADS = int(os.environ.get("BENCH_AUDIT_THREADS", "8"))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]


def summary(latencies: list[float], elapsed: float) -> dict:
    return {
        "events": len(latencies),
        "events_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 3),
        "p99_ms": round(percentile(latencies, 99) * 1000, 3),
    }


def timed_appends(count: int, label: str) -> list[float]:
    from audit.services import audit_record

    latencies = []
    for n in range(count):
        started = time.perf_counter()
        audit_record(action="bench.append", actor=label, object_type="order", object_id=n, payload={"qty": n})
        latencies.append(time.perf_counter() - started)
    return latencies


def main() -> None:
    from audit.chain import chain_verify

    with bench_run():
        timed_appends(100, "warm-up")
        started = time.perf_counter()
        one = timed_appends(SEQUENTIAL, "single")
        single = summary(one, time.perf_counter() - started)

        per_thread = SEQUENTIAL // THREADS
        results: list[list[float]] = []

        def worker(n: int) -> None:
            results.append(timed_appends(per_thread, f"thread-{n}"))
            connection.close()

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        concurrent = summary([latency for chunk in results for latency in chunk], time.perf_counter() - started)

        started = time.perf_counter()
        report = chain_verify()
        verify_seconds = time.perf_counter() - started
        connection.close()

    print(
        json.dumps(
            {
                "bench": "audit_append",
                "single_writer": single,
                f"{THREADS}_writers": concurrent,
                "verify": {
                    "ok": report.ok,
                    "rows": report.rows_checked,
                    "rows_per_s": round(report.rows_checked / verify_seconds, 1),
                },
            }
        )
    )


if __name__ == "__main__":
    main()
