"""HTTP under ASGI without Django's per-middleware thread hops.

Django's ASGI handler runs each sync-style middleware hook (`process_request`, `process_response`)
through `sync_to_async` on the one thread-sensitive executor, and the request signals too: about
twenty hand-offs between the event loop and a worker thread per request, which cost more than the
work itself on a small machine (an order POST spent ~10 ms on them). This bridge serves HTTP the way a
WSGI server does instead: the whole request runs on one pool thread, through Django's WSGI handler
(middleware, signals and views called directly), and the event loop only reads the body and writes
the response. Websockets still go through Channels (tradingsite/asgi.py).

Each pool thread keeps its own database connection, opened and recycled by Django's request signals
as under any threaded WSGI server (CONN_MAX_AGE, CONN_HEALTH_CHECKS). A response is sent in one piece
when it is small; a larger or streaming one (an export) is sent chunk by chunk as the thread produces
it, so memory stays flat.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from tempfile import SpooledTemporaryFile

from asgiref.wsgi import WsgiToAsgiInstance

# Bodies up to this size are sent from the event loop after the view returns; beyond it, streamed.
BUFFER_LIMIT = 256 * 1024
# Request bodies are spooled to disk beyond this.
SPOOL_LIMIT = 1024 * 1024


class WsgiBridge:
    def __init__(self, wsgi_application, *, threads: int):
        self.wsgi_application = wsgi_application
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="http")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"the WSGI bridge serves HTTP only, not {scope['type']}")
        body = SpooledTemporaryFile(max_size=SPOOL_LIMIT)
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body.write(message.get("body", b""))
                if not message.get("more_body"):
                    break
            body.seek(0)
            loop = asyncio.get_running_loop()
            exchange = _Exchange(scope, body, loop, send)
            start, chunks = await loop.run_in_executor(self.executor, exchange.run, self.wsgi_application)
            if start is not None:
                await send(start)
                await send({"type": "http.response.body", "body": b"".join(chunks)})
        finally:
            body.close()


class _Exchange:
    """One request on its pool thread: the WSGI call, with the response buffered or streamed."""

    def __init__(self, scope, body, loop, send):
        self.scope = scope
        self.body = body
        self.loop = loop
        self.send = send
        self.start = None
        self.streaming = False

    def start_response(self, status, headers, exc_info=None):
        # PEP 3333: an error response may replace one not yet sent; once headers are out, re-raise.
        if exc_info is not None and self.streaming:
            raise exc_info[1].with_traceback(exc_info[2])
        self.start = {
            "type": "http.response.start",
            "status": int(status.split(" ", 1)[0]),
            "headers": [(name.lower().encode("latin1"), value.encode("latin1")) for name, value in headers],
        }

    def send_from_thread(self, message) -> None:
        asyncio.run_coroutine_threadsafe(self.send(message), self.loop).result()

    def run(self, application):
        """Returns (start message, body chunks) to send, or (None, None) when already streamed."""
        try:
            environ = _environ(self.scope, self.body)
        except ValueError as exc:  # e.g. too many duplicate headers
            message = f"bad request: {exc}\n".encode()
            start = {"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"text/plain")]}
            return start, [message]
        result = application(environ, self.start_response)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in result:
                if not chunk:
                    continue
                if self.streaming:
                    self.send_from_thread({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                chunks.append(chunk)
                size += len(chunk)
                if size > BUFFER_LIMIT:
                    self.streaming = True
                    self.send_from_thread(self.start)
                    self.send_from_thread({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                    chunks = []
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if self.streaming:
            self.send_from_thread({"type": "http.response.body", "body": b""})
            return None, None
        return self.start, chunks


def _environ(scope, body) -> dict:
    # asgiref's translation of an ASGI scope into a WSGI environ, with its duplicate-header limit.
    translator = WsgiToAsgiInstance(None)
    translator.scope = scope
    return translator.build_environ(scope, body)
