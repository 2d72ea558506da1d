"""One error hierarchy for everything a client can be told, and the DRF handler that renders it.

Every error has a stable `code` and a sentence a person understands; rejections add their details
(the rule and the numbers involved) under `details`.
"""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from tradingsite.request_errors import body_error, body_error_log
from tradingsite.unavailable import RETRY_AFTER_SECONDS, service_unavailable, unavailable_body

logger = logging.getLogger(__name__)


class ApplicationError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details or {}

    def as_dict(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ValidationError(ApplicationError):
    code = "invalid"
    status = 400


class NotFoundError(ApplicationError):
    code = "not_found"
    status = 404


class ConflictError(ApplicationError):
    code = "conflict"
    status = 409


class UnprocessableError(ApplicationError):
    code = "unprocessable"
    status = 422


def api_exception_handler(exc, context):
    # Imported here: this module is imported by API authentication classes, which DRF loads while
    # rest_framework.views itself is still being imported.
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    if isinstance(exc, ApplicationError):
        return Response({"error": exc.as_dict()}, status=exc.status)
    service = service_unavailable(exc)
    if service is not None:
        logger.warning("%s unreachable: answered 503", service, exc_info=exc)
        set_rollback()
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return Response(unavailable_body(service), status=503, headers=headers)
    unreadable = body_error(exc)
    if unreadable is not None:
        # Django would answer these itself, with handler400, but not in DEBUG (its debug page) and
        # not with a 413; DRF met them parsing the body.
        body_error_log(context["request"], exc)
        status, error = unreadable
        return Response({"error": error}, status=status)
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        message = "; ".join(
            f"{field}: {' '.join(str(m) for m in (msgs if isinstance(msgs, list) else [msgs]))}"
            for field, msgs in fields.items()
        )
        response.data = {"error": {"code": "invalid", "message": message, "details": fields}}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"error": {"code": getattr(exc, "default_code", "error"), "message": str(detail)}}
    return response
