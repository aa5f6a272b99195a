"""Prometheus metrics, one registry per process, served at ``/metrics`` by every service.

Labels are codes only: service, topic, crossing, location, partition, decision kind or
reason. Never anything about a person; ``crossing`` and ``location`` are checked
against their code format so that a free-text value can never become a label.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
_CODE = re.compile(r"^[A-Z]{3}$")
UNKNOWN = "unknown"

EVENTS_IN = Counter(
    "returns_events_in",
    "Events consumed, by service, contract topic and crossing.",
    ["service", "topic", "crossing"],
    registry=REGISTRY,
)
EVENTS_OUT = Counter(
    "returns_events_out",
    "Events produced, by service, contract topic and crossing.",
    ["service", "topic", "crossing"],
    registry=REGISTRY,
)
DECISIONS = Counter(
    "returns_decisions",
    "Decisions by service, kind (accepted, declined, placed, LOCATION_SUSPENDED...), crossing.",
    ["service", "kind", "crossing"],
    registry=REGISTRY,
)
INVALID_EVENTS = Counter(
    "returns_invalid_events",
    "Consumed events skipped as unreadable or inapplicable, by service, topic and reason code.",
    ["service", "topic", "reason"],
    registry=REGISTRY,
)
PROCESSING = Histogram(
    "returns_processing_seconds",
    "Time to handle one consumed event.",
    ["service", "topic", "crossing"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
EVENT_AGE = Histogram(
    "returns_event_age_seconds",
    "End-to-end age of a consumed event: now minus the return's returned_at.",
    ["service", "topic", "crossing"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 86400),
    registry=REGISTRY,
)
CONSUMER_LAG = Gauge(
    "returns_consumer_lag",
    "Messages not yet read, per input partition owned by this worker.",
    ["service", "topic", "partition", "lane"],
    registry=REGISTRY,
)
HTTP_RESPONSES = Counter(
    "returns_http_responses",
    "HTTP responses by service, route template (never the raw path) and status code.",
    ["service", "route", "status"],
    registry=REGISTRY,
)
QUEUE_LENGTH = Gauge(
    "returns_queue_length",
    "Groups waiting for placement, per location.",
    ["location"],
    registry=REGISTRY,
)
QUEUE_OLDEST = Gauge(
    "returns_queue_oldest_wait_seconds",
    "How long the oldest waiting group of a location has waited.",
    ["location"],
    registry=REGISTRY,
)


def code(value: str | None) -> str:
    """A crossing or location code fit for a label, else ``unknown``."""
    return value if value is not None and _CODE.match(value) else UNKNOWN


def render() -> bytes:
    return generate_latest(REGISTRY)
