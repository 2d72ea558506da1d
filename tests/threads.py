import threading
import time

from django.db import connection


def run_threads(count: int, target) -> list:
    """Run target(n) in `count` threads released together; each result, or the exception it raised.

    Each thread uses its own database connection, closed when it finishes.
    """
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def work(n: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[n] = target(n)
        except BaseException as exc:  # handed back to the test to assert on
            results[n] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def wait_for(condition, *, timeout: float = 10.0, what: str = "the condition", every: float = 0.01):
    """condition()'s first truthy value, polling until `timeout` seconds; else an AssertionError naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
