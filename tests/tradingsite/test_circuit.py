"""Circuit breakers of outside services, seen through a news source on loopback that stops answering:
after CIRCUIT_FAILURES failures in a row the source is not asked at all (the fetch fails at once,
saying why), the metrics show the circuit open, and once the pause is over one trial call closes it."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from prometheus_client import REGISTRY

from sentiment.sources import SourceError, http_get


class Source:
    def __init__(self):
        self.hang = 0.0
        self.status = 200
        self.requests = 0
        source = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                source.requests += 1
                time.sleep(source.hang)
                try:
                    self.send_response(source.status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feed"
        self.name = f"news.127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def source(settings):
    settings.CIRCUIT_FAILURES = 3
    settings.CIRCUIT_RESET_SECONDS = 1.0
    settings.NEWS_FETCH_TIMEOUT_SECONDS = 0.3
    fake = Source()
    yield fake
    fake.server.shutdown()


def state(name: str) -> float | None:
    return REGISTRY.get_sample_value("tradingsite_circuit_state", {"circuit": name})


def test_a_source_that_stops_answering_is_skipped_at_once_until_its_pause_is_over(source):
    assert http_get(source.url).status_code == 200
    assert state(source.name) == 0

    source.hang = 2.0  # past the 0.3 s timeout
    for _ in range(3):
        with pytest.raises(SourceError, match="Timeout"):
            http_get(source.url)
    assert state(source.name) == 2
    asked = source.requests
    started = time.monotonic()
    with pytest.raises(SourceError, match="failed 3 times in a row; tried again in"):
        http_get(source.url)
    assert time.monotonic() - started < 0.5, "an open circuit should fail at once, not wait for the timeout"
    assert source.requests == asked, "the source was asked while its circuit was open"

    source.hang = 0.0
    time.sleep(1.1)
    assert http_get(source.url).status_code == 200  # the trial call
    assert state(source.name) == 0
    assert source.requests == asked + 1


def test_server_errors_count_against_the_source_and_a_failed_trial_opens_it_again(source):
    source.status = 503
    for _ in range(3):
        assert http_get(source.url).status_code == 503
    assert state(source.name) == 2
    time.sleep(1.1)
    assert http_get(source.url).status_code == 503  # the trial, and it fails
    assert state(source.name) == 2
    with pytest.raises(SourceError, match="failed 3 times in a row"):
        http_get(source.url)
    opened = REGISTRY.get_sample_value("tradingsite_circuit_opened_total", {"circuit": source.name})
    assert opened == 2


def test_a_slow_answer_from_before_an_outage_neither_closes_the_circuit_nor_keeps_it_open():
    from tradingsite.circuit import Circuit

    breaker = Circuit("tests.late-reports", failures=2, reset_seconds=0.3)
    slow = breaker.allow()  # a call that will answer long after the others
    for _ in range(2):
        breaker.failed(breaker.allow())
    assert breaker.allow() is None  # open
    breaker.succeeded(slow)  # its answer comes now: stale, ignored
    assert breaker.allow() is None
    time.sleep(0.35)
    trial = breaker.allow()
    assert trial is not None and breaker.allow() is None  # one trial at a time
    breaker.failed(slow)  # stale again: does not reopen or extend anything
    breaker.succeeded(trial)
    assert breaker.allow() is not None  # closed by the trial
