"""What a request is told while PostgreSQL or Redis cannot be reached: 503 with Retry-After, never a
500. A client (or the trade page) sends the same request again after the pause; an order sent with
an Idempotency-Key is placed at most once however often that happens.

Only errors that mean "try again shortly" are 503s: no connection or a connection that broke (a
restart, a failover: no SQLSTATE, or class 08), the server shutting down or starting (57P01-57P03),
too many connections (53300), a full disk (53100: every write fails until ops make room), and a
deadlock, serialization failure, lock or statement timeout (40P01, 40001, 55P03, 57014), which are
logged as errors too. Anything else a database raises (a wrong password, a missing table, a bad
statement) stays a 500 that names nothing, so a fault in the site is never taken for an outage. (A
failed connection attempt carries no SQLSTATE, so a wrong database name is a 503 too; /readyz fails
with it, so such a pod never takes traffic.) For Redis: its ConnectionError and TimeoutError, but not
a refused password.
"""

import logging

import redis
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5
AWAY_STATES = {"57P01", "57P02", "57P03", "53300", "53100"}
CONTENTION_STATES = {"40P01", "40001", "55P03", "57014"}


def service_unavailable(exc: BaseException | None) -> str | None:
    """Which backing service `exc` says is out of reach for now ("database", "redis"), or None."""
    if isinstance(exc, OperationalError | InterfaceError):
        state = getattr(exc.__cause__, "sqlstate", None)
        if state is None or state.startswith("08") or state in AWAY_STATES:
            return "database"
        if state in CONTENTION_STATES:
            logger.error("database contention answered 503 (SQLSTATE %s): %s", state, exc)
            return "database"
        return None
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError) and not isinstance(exc, redis.AuthenticationError):
        return "redis"
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
