"""Trace context in Kafka headers, and the tracer provider set-up.

faust runs its consumer in a thread of its own, so no instrumentation links a
received message to its processing: the services read ``traceparent`` from the
headers themselves (:func:`extract`) and open the processing span around the handler.
Attributes must never carry personal data: only codes, ids, topics and offsets.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagators.textmap import default_getter, default_setter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_configured = False

Headers = list[tuple[str, bytes]]


def configure_tracing(service: str, exporter: SpanExporter | None = None) -> None:
    """Install a tracer provider once per process.

    OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, the console when
    ``RETURNS_TRACE_CONSOLE=1``, a JSON-lines file when ``RETURNS_TRACE_FILE`` names
    one (what the cross-service tests read), none by default. Tests pass ``exporter``.
    """
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"returns-{service}"}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        provider.add_span_processor(BatchSpanProcessor(_otlp_exporter()))
    elif os.environ.get("RETURNS_TRACE_CONSOLE") == "1":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif os.environ.get("RETURNS_TRACE_FILE"):
        provider.add_span_processor(
            SimpleSpanProcessor(JsonLinesSpanExporter(os.environ["RETURNS_TRACE_FILE"]))
        )
    trace.set_tracer_provider(provider)
    _configured = True


class JsonLinesSpanExporter(SpanExporter):
    """Appends each finished span as one JSON line (several processes may share a file)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = "".join(span.to_json(indent=None) + "\n" for span in spans)
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(lines)
        return SpanExportResult.SUCCESS


def _otlp_exporter() -> SpanExporter:
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
            OTLPSpanExporter,
        )
    except ImportError:
        raise SystemExit(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OTLP exporter is not installed: "
            "run `uv sync --extra otlp`."
        ) from None
    exporter: SpanExporter = OTLPSpanExporter()
    return exporter


@functools.cache
def tracer(name: str) -> trace.Tracer:
    """The tracer `name`, made once: making one costs more than the span it opens. One
    made before `configure_tracing` starts using the provider once it is installed."""
    return trace.get_tracer(name)


def inject(headers: Headers | None = None) -> Headers:
    """Headers carrying the current trace context (W3C ``traceparent``)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, setter=default_setter)
    out = list(headers or [])
    out.extend((key, value.encode()) for key, value in carrier.items())
    return out


def current_traceparent() -> str | None:
    """The current span's context as a W3C ``traceparent`` (None outside any span).

    Captured where an event is decided, it lets the event be sent later, from another
    task, still continuing the trace of what caused it (see :func:`continuing`)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, setter=default_setter)
    return carrier.get("traceparent")


def continuing(traceparent: str | None) -> Headers:
    """Headers that continue ``traceparent``; none when it is None. Unlike :func:`inject`
    this does not read the sending task's context, which may belong to another event."""
    return [("traceparent", traceparent.encode())] if traceparent else []


def extract(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, bytes] | None,
) -> otel_context.Context:
    """The trace context found in Kafka headers (an empty one when there is none)."""
    items = headers.items() if isinstance(headers, Mapping) else (headers or [])
    carrier: dict[str, Any] = {}
    for key, value in items:
        carrier[key] = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    return _PROPAGATOR.extract(carrier, getter=default_getter)
