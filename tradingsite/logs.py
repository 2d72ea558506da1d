"""Logs as JSON lines (LOG_FORMAT=json, the default in production): one object per record with the UTC
time, level, logger and message, and what is known of its context: the request id and client address
of the request being served, the user (where the record carries the request, or `extra={"user": ...}`),
an order's id (`extra={"order_id": ...}`), the trace id of the OpenTelemetry span it was logged in, and
the exception with its traceback."""

import json
import logging
from datetime import UTC, datetime

from tradingsite.request_context import client_ip_from_request, current

EXTRA_FIELDS = ("order_id", "account_id", "strategy", "agent", "task_id")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = current()
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request", None)
        if context.request_id:
            entry["request_id"] = context.request_id
            entry["client_ip"] = context.client_ip
        elif getattr(request, "request_id", None):  # Django logs a response after the middleware is done
            entry["request_id"] = request.request_id
            entry["client_ip"] = client_ip_from_request(request)
        user = getattr(record, "user", None) or user_of(request)
        if user:
            entry["user"] = str(user)
        for name in EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = value
        trace_id = current_trace_id()
        if trace_id:
            entry["trace_id"] = trace_id
        status = getattr(record, "status_code", None)
        if status is not None:
            entry["status"] = status
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def user_of(request) -> str:
    user = getattr(request, "user", None)
    return user.get_username() if getattr(user, "is_authenticated", False) else ""


def current_trace_id() -> str:
    try:
        from opentelemetry import trace
    except ImportError:
        return ""
    span = trace.get_current_span().get_span_context()
    return f"{span.trace_id:032x}" if span.is_valid else ""
