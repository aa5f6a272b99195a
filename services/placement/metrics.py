"""Placement's counters and its record of rejected inputs, in one object to export later.

Nothing here may carry personal data: reason codes, event ids, location and shelter codes.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from prometheus_client import Gauge

from services.placement.records import UnitState
from services.placement.state import LocationState
from services.runtime.metrics import REGISTRY, code

log = logging.getLogger("services.placement")

RECENT_REJECTIONS = 50


@dataclass(frozen=True)
class Rejection:
    """An input recorded with its reason and ignored for the state.

    `reason` is a stable code (for example ``UNKNOWN_SHELTER``); `detail` names codes
    and ids only, never a person's data.
    """

    reason: str
    event_id: str | None
    topic: str
    detail: str
    location: str | None = None


@dataclass
class PlacementCounters:
    """What this worker did since it started: placements, deferrals, rejections."""

    placed: int = 0
    rerouted: int = 0
    deferred: Counter[str] = field(default_factory=Counter)
    unplaceable: int = 0
    withdrawn: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    commands: Counter[str] = field(default_factory=Counter)
    duplicates_skipped: int = 0
    recent_rejections: deque[Rejection] = field(
        default_factory=lambda: deque(maxlen=RECENT_REJECTIONS)
    )

    def record(self, rejection: Rejection) -> None:
        """Count a rejected input and keep it among the recent ones, for the ops view."""
        self.rejected[rejection.reason] += 1
        self.recent_rejections.append(rejection)

    def reject(self, rejection: Rejection) -> None:
        """Record and log a rejected command (a structured line, no personal data); a
        rejected input event is logged by the consuming loop instead."""
        self.record(rejection)
        log.warning(
            "placement rejected an input: reason=%s event_id=%s topic=%s location=%s detail=%s",
            rejection.reason,
            rejection.event_id,
            rejection.topic,
            rejection.location,
            rejection.detail,
            extra={"reason_code": rejection.reason, "event_id": rejection.event_id},
        )

    def count_placed(self, rerouted: bool) -> None:
        self.placed += 1
        self.rerouted += int(rerouted)

    def count_deferred(self, reason: str) -> None:
        self.deferred[reason] += 1
        if reason == "GROUP_EXCEEDS_LARGEST_SHELTER":
            self.unplaceable += 1

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy, for ``GET /v1/placement/counters`` and a future exporter."""
        return {
            "placed": self.placed,
            "rerouted": self.rerouted,
            "deferred": dict(sorted(self.deferred.items())),
            "unplaceable": self.unplaceable,
            "withdrawn": dict(sorted(self.withdrawn.items())),
            "rejected": dict(sorted(self.rejected.items())),
            "commands": dict(sorted(self.commands.items())),
            "duplicates_skipped": self.duplicates_skipped,
            "recent_rejections": [asdict(r) for r in self.recent_rejections],
        }


LOCATION_DAILY_CAP = Gauge(
    "returns_location_daily_cap",
    "A location's daily reception cap (people), as placement applies it now.",
    ["location"],
    registry=REGISTRY,
)
LOCATION_PLACED_TODAY = Gauge(
    "returns_location_placed_today",
    "People placed at a location on its local date (what counts against the daily cap).",
    ["location"],
    registry=REGISTRY,
)


def export_location_figures(state: UnitState, now: datetime) -> None:
    """Each location's cap and count today, the figures ``GET /v1/locations/{code}`` shows.

    Read straight from the snapshot rather than through the ops view, which would render
    the whole queue after every command; "today" is the location's local date all the same.
    """
    for location, snapshot in state.locations.items():
        placed = snapshot.placements_by_date.get(_local_date(snapshot, now), 0)
        LOCATION_DAILY_CAP.labels(code(location)).set(snapshot.daily_cap)
        LOCATION_PLACED_TODAY.labels(code(location)).set(placed)


def _local_date(location: LocationState, now: datetime) -> date:
    """As the ops view counts it: the offset last seen on a group returned there, else UTC."""
    offset = location.utc_offset_minutes
    return now.astimezone(UTC if offset is None else timezone(timedelta(minutes=offset))).date()
