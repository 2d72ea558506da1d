"""OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT is set (OTLP over HTTP; the SDK reads the
endpoint, headers and batching from the standard OTEL_* variables).

An order is one trace from the request to the broker and back: the web's request span and its
`order.place`; the placement's trace context stored on the outbox entry (`OutboxEntry.trace_context`,
W3C traceparent), from which the dispatcher or worker that sends it continues with `order.send`, and
below that the broker's `order.accept` and each `order.fill` (for the paper exchange in the same call;
a later fill, on a tick, starts from the order's own stored context).

Without the endpoint, or without the SDK installed, every function here does nothing.
"""

import functools
import logging
import os
from contextlib import contextmanager, nullcontext

logger = logging.getLogger(__name__)
_tracer = None


def tracing_start(service: str) -> bool:
    """Export this process's spans as `service` (tradingsite-web, -dispatcher, ...); False when off."""
    global _tracer
    if _tracer is not None:
        return True
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        logger.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed")
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _tracer = trace.get_tracer("tradingsite")
    return True


def tracing_flush() -> None:
    if _tracer is not None:
        from opentelemetry import trace

        trace.get_tracer_provider().force_flush(5000)


def span(name: str, *, parent: str = "", **attributes):
    """A span named `name` (a no-op without tracing), child of the current span, or of the W3C
    traceparent `parent` when one is given (work picked up from the outbox)."""
    if _tracer is None:
        return nullcontext()
    return _span(name, parent, attributes)


@contextmanager
def _span(name: str, parent: str, attributes: dict):
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    context = TraceContextTextMapPropagator().extract({"traceparent": parent}) if parent else None
    with _tracer.start_as_current_span(name, context=context) as current:
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(key, value)
        yield current


def traceparent() -> str:
    """The current span as a W3C traceparent, to store with work another process picks up ('' when off)."""
    if _tracer is None:
        return ""
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return carrier.get("traceparent", "")


def tracing_on() -> bool:
    return _tracer is not None


def traced(name: str):
    """Run the function in a span `name` when tracing is on; an Order it returns is named on the span."""

    def wrap(function):
        @functools.wraps(function)
        def call(*args, **kwargs):
            if _tracer is None:
                return function(*args, **kwargs)
            with _span(name, "", {}) as current:
                result = function(*args, **kwargs)
                if getattr(result, "order_id", None) is not None:  # a trade
                    current.set_attribute("order.id", result.order_id)
                    current.set_attribute("trade.id", result.pk)
                    current.set_attribute("trade.quantity", result.quantity)
                elif result is not None:  # an order
                    for attribute in ("pk", "status", "tradingsymbol", "quantity"):
                        value = getattr(result, attribute, None)
                        if isinstance(value, str | int):
                            current.set_attribute(f"order.{'id' if attribute == 'pk' else attribute}", value)
                return result

        return call

    return wrap
