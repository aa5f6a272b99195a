"""`returns audit verify --metrics-file`: the result in Prometheus' text format.

A scheduled `verify` has no /metrics of its own, so it leaves a file for node_exporter's
textfile collector (or a push to a Pushgateway) and the alert rules read the figures
from there. Only categories and counts go in: never a group id or a detail.
"""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from services.audit import findings
from services.audit.verify import VerifyReport

CATEGORIES = tuple(
    sorted(
        {
            value
            for name, value in vars(findings).items()
            if name.isupper() and isinstance(value, str)
        }
    )
)
"""Every mismatch category, so that a category with no mismatch reads 0, not absent."""


def verify_registry(report: VerifyReport, finished_at: float | None = None) -> CollectorRegistry:
    """A registry holding the figures of one `verify` run."""
    registry = CollectorRegistry(auto_describe=True)
    mismatches = Gauge(
        "returns_verify_mismatches",
        "Mismatches found by the last returns audit verify, per category.",
        ["category"],
        registry=registry,
    )
    counts = report.by_category()
    for category in sorted({*CATEGORIES, *counts}):
        mismatches.labels(category).set(counts.get(category, 0))
    Gauge(
        "returns_verify_pending",
        "Follow-ups still within their grace period at the end of the last verify.",
        registry=registry,
    ).set(len(report.pending))
    Gauge(
        "returns_verify_decisions_rechecked",
        "Screening decisions the last verify re-derived.",
        registry=registry,
    ).set(report.decisions_rechecked)
    Gauge(
        "returns_verify_last_run_timestamp_seconds",
        "When the last returns audit verify finished (Unix time).",
        registry=registry,
    ).set(time.time() if finished_at is None else finished_at)
    return registry


def write_metrics_file(path: Path, report: VerifyReport) -> None:
    """Write the figures to `path`, atomically (through a temporary file and a rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), verify_registry(report))
