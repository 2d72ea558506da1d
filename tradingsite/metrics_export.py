"""Serving the metrics: on each process's own metrics port (METRICS_PORT), and at /metrics on the web
port, both wanting the bearer token METRICS_TOKEN when one is set; /metrics on the public port is not
served at all without one.

Several processes in one pod (daphne's threads, a Celery worker's forked children) count into the same
series: with PROMETHEUS_MULTIPROC_DIR set (the chart sets it on every pod) prometheus-client keeps each
process's values in files there, and a scrape adds them up. The state read from the database and Redis
when scraped (outbox depth, sessions, queue lengths, ...) comes from the collectors registered with
`state_collector`, which a scrape asks once, in the scraping process.
"""

import hmac
import logging
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

logger = logging.getLogger(__name__)
STATE: list = []
_server: ThreadingHTTPServer | None = None


def state_collector(collector) -> None:
    """Add a collector that reads the site's state when scraped. Every pod would read the same rows, so
    only the processes with METRICS_STATE on serve them (the chart: the one sequencer pod)."""
    STATE.append(collector)
    _state.register(collector)


_state = CollectorRegistry(auto_describe=True)


def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def scrape() -> bytes:
    from django.conf import settings

    if multiprocess():
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        # The scraping process's own CPU, memory, file descriptors and garbage collection.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    else:
        registry = REGISTRY
    text = generate_latest(registry)
    if settings.METRICS_STATE:
        text += generate_latest(_state)
    return text


def token_ok(authorization: str | None) -> bool:
    """With METRICS_TOKEN set, the request must carry it as a bearer token (compared in constant time)."""
    from django.conf import settings

    wanted = settings.METRICS_TOKEN
    if not wanted:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), wanted.encode())


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.path.split("?")[0] not in ("/metrics", "/"):
            self.answer(404, b"only /metrics here\n", "text/plain")
        elif not token_ok(self.headers.get("Authorization")):
            self.answer(401, b"the metrics want the bearer token (METRICS_TOKEN)\n", "text/plain")
        else:
            try:
                self.answer(200, scrape(), CONTENT_TYPE_LATEST)
            except Exception:  # noqa: BLE001 - a failed scrape is a 500, never the process's end
                logger.exception("metrics scrape failed")
                self.answer(500, b"scrape failed\n", "text/plain")

    def answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - scrapes every 30 s would flood the log
        return


def metrics_server_start(port: int | None = None) -> int | None:
    """Serve /metrics on METRICS_PORT (or `port`) from a daemon thread; the port, or None where none is
    set. A second call in the same process serves nothing more."""
    global _server
    from django.conf import settings

    port = settings.METRICS_PORT if port is None else port
    if not port:
        return None
    if _server is not None:
        return _server.server_address[1]
    try:
        _server = ThreadingHTTPServer((settings.METRICS_BIND, port), Handler)
    except OSError as exc:  # the port is taken (another process of the pod has it): that one serves
        logger.warning("metrics port %s not served by this process: %s", port, exc)
        return None
    _server.daemon_threads = True
    threading.Thread(target=_server.serve_forever, name="metrics", daemon=True).start()
    return _server.server_address[1]


def observability_start(service: str) -> None:
    """A long-running process's metrics port, and its trace export when OTEL_EXPORTER_OTLP_ENDPOINT is set."""
    from tradingsite.tracing import tracing_start

    metrics_server_start()
    tracing_start(service)
