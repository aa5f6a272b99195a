"""Observations of a small, realistic run: families and lone adults at the border."""

from __future__ import annotations

import json
from typing import Any

from services.observe import Observation

T0 = 1_795_795_200.0  # 2026-11-27 00:00:00 UTC, seconds since the epoch


def returned(
    group: str, member: int, at: float, size: int = 1, crossing: str = "ELP"
) -> Observation:
    """Intake accepted member ``member`` of ``group`` at ``at``."""
    return Observation(
        "person-returned", f"pr-{group}-{member}", group, crossing, at, group_size=size
    )


def screened(
    group: str,
    at: float,
    decision: str = "accepted",
    crossing: str = "ELP",
    incomplete: bool = False,
) -> Observation:
    """Screening decided ``group`` at ``at``."""
    return Observation(
        "screened", f"sc-{group}", group, crossing, at, decision=decision, incomplete=incomplete
    )


def reached(topic: str, group: str, at: float, crossing: str = "ELP") -> Observation:
    """A ``placed``, ``placement-deferred`` or ``legal-aid-requested`` for ``group``."""
    return Observation(topic, f"{topic}-{group}", group, crossing, at)


def envelope_bytes(event_type: str, data: dict[str, Any], **changes: Any) -> bytes:
    """The bytes of an event as the services write them."""
    document = {
        "event_id": "5f0c8c52-8d8a-5b1e-9a43-0f4d1d0c3a11",
        "event_type": event_type,
        "schema_version": 1,
        "occurred_at": "2026-11-27T16:00:05.120Z",
        "producer": "screening/0.1.0",
        "correlation_id": "G-2026-000123",
        "causation_id": None,
        "crossing": "ELP",
        "data": data,
        **changes,
    }
    return json.dumps(document).encode()
