"""One place that observes the handling of a consumed event: span, counters, timings.

    with observed(runtime, "screening", "gather", message) as seen:
        envelope = decode(...)
        seen.crossing = envelope.crossing
        seen.returned_at = envelope.data.returned_at

The span continues the trace found in the message's ``traceparent`` header and is
named for the step; its attributes are topic, partition, offset and codes only.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from services.runtime import metrics, telemetry
from services.runtime.settings import Settings


@dataclass
class Seen:
    """What the handler learns while it handles: set its fields, they are recorded."""

    span: Span
    crossing: str | None = None
    location: str | None = None
    returned_at: datetime | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def logical_topic(settings: Settings, physical: str) -> str:
    return physical.removeprefix(settings.topic_prefix)


@contextmanager
def observed(settings: Settings, service: str, step: str, message: Any) -> Iterator[Seen]:
    """Trace and measure the handling of one consumed Kafka message."""
    topic = logical_topic(settings, message.topic)
    parent = telemetry.extract(message.headers)
    tracer = telemetry.tracer(f"returns.{service}")
    started = time.perf_counter()
    attributes = {
        "messaging.system": "kafka",
        "messaging.destination.name": topic,
        "messaging.kafka.partition": message.partition,
        "messaging.kafka.offset": message.offset,
    }
    with tracer.start_as_current_span(
        f"{service}.{step}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ) as span:
        seen = Seen(span)
        try:
            yield seen
        finally:
            _record(service, topic, seen, time.perf_counter() - started)


def _record(service: str, topic: str, seen: Seen, elapsed: float) -> None:
    crossing = metrics.code(seen.crossing)
    if seen.crossing:
        seen.span.set_attribute("returns.crossing", crossing)
    if seen.location:
        seen.span.set_attribute("returns.location", metrics.code(seen.location))
    if seen.attributes:
        seen.span.set_attributes(seen.attributes)
    events_in, processing, event_age = _series(service, topic, crossing)
    events_in.inc()
    processing.observe(elapsed)
    if seen.returned_at is not None:
        age = (datetime.now(UTC) - seen.returned_at).total_seconds()
        event_age.observe(max(age, 0.0))


_SERIES: dict[tuple[str, str, str], tuple[Any, Any, Any]] = {}


def _series(service: str, topic: str, crossing: str) -> tuple[Any, Any, Any]:
    """The counter and histograms of one label set, looked up once rather than per event
    (a lookup validates and hashes the labels again); as bounded as the label sets."""
    key = (service, topic, crossing)
    found = _SERIES.get(key)
    if found is None:
        found = _SERIES[key] = (
            metrics.EVENTS_IN.labels(*key),
            metrics.PROCESSING.labels(*key),
            metrics.EVENT_AGE.labels(*key),
        )
    return found


_COUNTERS: dict[tuple[Any, str, str, str], Any] = {}


def _counter(family: Any, service: str, label: str, crossing: str | None) -> Any:
    """The child of counter `family` for one label set, looked up once (as `_series`):
    an event is produced or decided for about every one consumed, and the look-up cost
    as much as the increment. Keyed by the crossing's code, so as bounded as the labels."""
    key = (family, service, label, metrics.code(crossing))
    found = _COUNTERS.get(key)
    if found is None:
        found = _COUNTERS[key] = family.labels(*key[1:])
    return found


def produced(service: str, topic: str, crossing: str | None) -> None:
    _counter(metrics.EVENTS_OUT, service, topic, crossing).inc()


def decided(service: str, kind: str, crossing: str | None) -> None:
    _counter(metrics.DECISIONS, service, kind, crossing).inc()
    trace.get_current_span().set_attributes(
        {"returns.decision": kind, "returns.crossing": metrics.code(crossing)}
    )
