"""Requests Django refuses before a view can answer: a body past DATA_UPLOAD_MAX_MEMORY_SIZE, too many
form fields or files, a query string or form it cannot read. Under /api/ they get the API's JSON error
like every other answer there (413 for a body too large, else 400); pages keep Django's own.

The same answer is given whether Django raised while a middleware read the body (handler400 below) or
while DRF parsed it in a view (tradingsite.exceptions).
"""

import logging

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.views import defaults

UNREADABLE = {"code": "bad_request", "message": "the request cannot be read"}


def body_error(exc: Exception) -> tuple[int, dict] | None:
    """(status, error) for an exception about the request's body or query string, else None."""
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return 413, {
            "code": "request_too_large",
            "message": f"the request body is larger than the {limit:,} bytes this API accepts",
            "details": {"limit_bytes": limit},
        }
    if isinstance(exc, TooManyFilesSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FILES
        return 400, {"code": "too_many_files", "message": f"the request has more than {limit:,} files"}
    if isinstance(exc, TooManyFieldsSent):
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        return 400, {
            "code": "too_many_fields",
            "message": f"the request has more than {limit:,} fields (form fields and query parameters)",
        }
    if isinstance(exc, MultiPartParserError):
        return 400, {"code": "parse_error", "message": f"the multipart body cannot be read: {exc}"}
    if isinstance(exc, BadRequest | SuspiciousOperation):
        return 400, UNREADABLE
    return None


def body_error_log(request, exc: Exception) -> None:
    """Logged as Django logs the exceptions it turns into a 400 itself, on its django.security logger."""
    logging.getLogger(f"django.security.{type(exc).__name__}").error(
        "%s (%s %s)", exc, request.method, request.path[:500], extra={"request": request}
    )


def bad_request(request, exception=None):
    """handler400: JSON under /api/, Django's page elsewhere."""
    if not request.path.startswith("/api/"):
        return defaults.bad_request(request, exception)
    status, error = (exception is not None and body_error(exception)) or (400, UNREADABLE)
    return JsonResponse({"error": error}, status=status)
