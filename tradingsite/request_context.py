"""The request id and client address of the request being served, for logs and the audit trail.

Service functions deep in a call stack record audit events without being handed the request: they
read this context. Outside a request (Celery, management commands) it is empty.
"""

import contextvars
import ipaddress
import logging
import re
import uuid
from dataclasses import dataclass

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings

from tradingsite.tracing import span


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    client_ip: str = ""


_EMPTY = RequestContext()
_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar("request_context", default=_EMPTY)  # noqa: B039
# A caller-supplied X-Request-ID is kept only if it is short and plain, so it cannot inject into logs.
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def current() -> RequestContext:
    return _current.get()


def client_ip_normalise(value: str) -> str:
    """A canonical text form of an IP address ('' when absent or malformed); IPv4-mapped IPv6 becomes IPv4."""
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return ""
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def client_ip_from_request(request) -> str:
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if settings.TRUSTED_PROXY_COUNT and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        # Each trusted proxy appends the address it saw; anything further left is the client's claim.
        if len(hops) >= settings.TRUSTED_PROXY_COUNT:
            return client_ip_normalise(hops[-settings.TRUSTED_PROXY_COUNT])
    return client_ip_normalise(request.META.get("REMOTE_ADDR", ""))


class RequestContextMiddleware:
    # Both sync and async, so that under ASGI it does not force the middleware chain into a thread.
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def begin(self, request):
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _REQUEST_ID_RE.match(supplied) else uuid.uuid4().hex
        request.request_id = request_id
        return _current.set(RequestContext(request_id=request_id, client_ip=client_ip_from_request(request)))

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        token = self.begin(request)
        try:
            with request_span(request) as current:
                response = self.get_response(request)
                if current is not None:
                    current.set_attribute("http.status_code", response.status_code)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request.request_id
        return response

    async def __acall__(self, request):
        token = self.begin(request)
        try:
            with request_span(request) as current:
                response = await self.get_response(request)
                if current is not None:
                    current.set_attribute("http.status_code", response.status_code)
        finally:
            _current.reset(token)
        response["X-Request-ID"] = request.request_id
        return response


def request_span(request):
    """The request's span (tracing on): a child of the caller's W3C traceparent when it sends one."""
    # One name per route, not per object: ids in the path read as {id}.
    return span(
        f"{request.method} {re.sub(r'/[0-9]+(?=/|$)', '/{id}', request.path)}",
        parent=request.headers.get("traceparent", ""),
        **{"http.method": request.method, "http.target": request.path, "request.id": request.request_id},
    )


class RequestIdLogFilter(logging.Filter):
    def filter(self, record):
        record.request_id = _current.get().request_id or "-"
        return True
