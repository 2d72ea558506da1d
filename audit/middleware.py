"""Every API call, and every refused request anywhere on the site, goes into the audit trail, except
the 401s of requests that name nobody, and the refusals a view counts itself (a forged Kite postback).

API calls are recorded with method, path, status, latency, actor and token; the bodies of order
requests are kept too. A 403 anywhere, and a 401 of a signed-in user, is recorded as `access.denied`.
A 401 of a request that names nobody (no credentials, or ones that are not valid) is not: it is
counted in the `tradingsite_unauthenticated_requests_total` metric by reason and logged as a warning
with its path and client address, since there is no one to hold to account and each audit row takes
the chain's lock and is kept for years. The record is written after the response is made, in its own
transaction, so the call's own work is never rolled back by it; if it cannot be written the failure
is logged and the response still goes out.
"""

import logging
import re
import time

from django.conf import settings

from audit.services import audit_record
from tradingsite.api_auth import unauthenticated_reason
from tradingsite.metrics import unauthenticated_requests
from tradingsite.models import ApiToken
from tradingsite.request_context import client_ip_from_request

logger = logging.getLogger(__name__)
API_PREFIX = "/api/v1/"
ORDER_PATH = re.compile(r"^/api/v1/orders(/\d+)?/?$")
DENIED = (401, 403)


def auth_kind(request) -> tuple[str, int | None]:
    auth = getattr(request, "auth", None) or getattr(request, "api_token_refused", None)
    if isinstance(auth, ApiToken):
        return "api_token", auth.pk
    if isinstance(auth, str):
        return "oidc_bearer", None
    user = getattr(request, "user", None)
    return ("session" if user is not None and user.is_authenticated else "none"), None


def body_text(raw: bytes) -> str:
    limit = settings.AUDIT_REQUEST_BODY_LIMIT
    text = raw[:limit].decode("utf-8", errors="replace")
    return text + ("…(truncated)" if len(raw) > limit else "")


def is_signed_in(request) -> bool:
    user = getattr(request, "user", None)
    return user is not None and user.is_authenticated


def actor_of(request):
    """Who made the request: the signed-in user, or the owner of a token refused for its scope."""
    if is_signed_in(request):
        return request.user
    refused = getattr(request, "api_token_refused", None)
    return refused.user if refused is not None else None


def unauthenticated_note(request, response) -> None:
    reason = unauthenticated_reason(request)
    unauthenticated_requests.labels(reason=reason).inc()
    error = getattr(response, "data", None)
    message = error.get("error", {}).get("message", "") if isinstance(error, dict) else ""
    logger.warning(
        "refused without valid credentials (401, %s): %s %r from %s: %s",
        reason,
        request.method,
        request.path[:500],
        client_ip_from_request(request) or "unknown address",
        message or "no detail",
    )


class AccessRecordMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        is_api = request.path.startswith(API_PREFIX)
        body = None
        if is_api and request.method not in ("GET", "HEAD", "OPTIONS") and ORDER_PATH.match(request.path):
            # Read before the view: once DRF has consumed the stream the body cannot be read again.
            body = body_text(request.body)
        started = time.perf_counter()
        response = self.get_response(request)
        if getattr(response, "refusal_counted", False) and actor_of(request) is None:
            pass  # unauthenticated input the view refused, counted and logged itself (Kite postbacks)
        elif response.status_code == 401 and actor_of(request) is None:
            unauthenticated_note(request, response)
        elif is_api or response.status_code in DENIED:
            latency_ms = round((time.perf_counter() - started) * 1000, 2)
            try:
                self.record(request, response, latency_ms=latency_ms, body=body, is_api=is_api)
            except Exception:
                logger.exception("could not record %s %s in the audit trail", request.method, request.path)
        return response

    def record(self, request, response, *, latency_ms: float, body: str | None, is_api: bool) -> None:
        kind, token_id = auth_kind(request)
        payload = {
            "method": request.method,
            "path": request.path[:500],
            "query": request.META.get("QUERY_STRING", "")[:500],
            "status": response.status_code,
            "latency_ms": latency_ms,
            "auth": kind,
            "token_id": token_id,
        }
        if body is not None:
            payload["body"] = body
        action = "access.denied" if response.status_code in DENIED else "api.request"
        audit_record(
            action=action,
            actor=actor_of(request),
            object_type="api" if is_api else "page",
            object_id=request.method,
            payload=payload,
        )
