"""What a request is told while PostgreSQL or Redis cannot be reached: 503 with Retry-After, never a
500. A client (or the trade page) sends the same request again after the pause; an order sent with
an Idempotency-Key is placed at most once however often that happens.

Database errors that mean "the server is away or the connection broke" are Django's OperationalError
and InterfaceError (connection refused, a session killed by a restart, a failover); Redis's are its
ConnectionError and TimeoutError. Both are also what a deadlock or a statement timeout raises, for which
trying again is the right advice too.
"""

import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

RETRY_AFTER_SECONDS = 5
SERVICES = {"database": (OperationalError, InterfaceError), "redis": (redis.ConnectionError, redis.TimeoutError)}


def service_unavailable(exc: BaseException | None) -> str | None:
    """Which backing service `exc` says is unreachable ("database", "redis"), or None."""
    for service, errors in SERVICES.items():
        if isinstance(exc, errors):
            return service
    return None


def unavailable_body(service: str) -> dict:
    message = f"the site's {service} cannot be reached just now; retry in {RETRY_AFTER_SECONDS} seconds"
    return {"error": {"code": "service_unavailable", "message": message, "details": {"service": service}}}


def unavailable_response(request, service: str) -> HttpResponse:
    if request.path.startswith("/api/"):
        response = JsonResponse(unavailable_body(service), status=503)
    else:
        text = unavailable_body(service)["error"]["message"].capitalize() + ".\n"
        response = HttpResponse(text, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
