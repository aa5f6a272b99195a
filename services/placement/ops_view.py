"""What ops see of one location (``GET /v1/locations/{code}``), rendered from its unit's state.

Pure: the unit state and the current time go in, a JSON-ready dict comes out. Group ids
appear (ops act on them); names, health or any other personal data never do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from services.placement.records import GroupRecord
from services.placement.state import LocationState
from services.placement.store import UnitView

UNPLACEABLE = "GROUP_EXCEEDS_LARGEST_SHELTER"


def location_view(state: UnitView, code: str, now: datetime) -> dict[str, Any]:
    """Status, today's cap and count, free beds per shelter, the queue and who cannot be placed."""
    location = state.locations[code]
    today = now.astimezone(_clock_of(location)).date()
    placed_today = location.placements_by_date.get(today, 0)
    queue = state.queue(code)
    return {
        "location": code,
        "unit": state.unit,
        "security_level": location.security_level,
        "status_effective_at": _iso(location.status_effective_at),
        "local_date": today.isoformat(),
        "daily_cap": location.daily_cap,
        "placed_today": placed_today,
        "cap_remaining": max(0, location.daily_cap - placed_today),
        "free_beds": sum(
            max(0, s.beds - s.occupied)
            for s in location.shelters.values()
            if s.serves == "families_and_adults"
        ),
        "shelters": _shelters(location),
        **_queue_view(queue, now),
    }


def _shelters(location: LocationState) -> list[dict[str, Any]]:
    return [
        {
            "shelter_id": shelter_id,
            "serves": s.serves,
            "beds": s.beds,
            "occupied": s.occupied,
            "free": max(0, s.beds - s.occupied),
        }
        for shelter_id, s in sorted(location.shelters.items())
    ]


def _queue_view(queue: Sequence[GroupRecord], now: datetime) -> dict[str, Any]:
    oldest = min((entry.waits.deferred_since for entry in queue), default=None)
    return {
        "queue_length": len(queue),
        "oldest_waiting_since": _iso(oldest),
        "oldest_waiting_age_seconds": (
            None if oldest is None else max(0, round((now - oldest).total_seconds()))
        ),
        "waiting": [
            {
                "position": position,
                "group_id": entry.group_id,
                "beds": entry.beds,
                "reason": entry.waits.reason,
                "deferred_since": _iso(entry.waits.deferred_since),
            }
            for position, entry in enumerate(queue, start=1)
        ],
        "unplaceable": [
            {
                "group_id": entry.group_id,
                "beds": entry.beds,
                "deferred_since": _iso(entry.waits.deferred_since),
            }
            for entry in queue
            if entry.waits.reason == UNPLACEABLE
        ],
    }


def _clock_of(location: LocationState) -> timezone:
    """The location's UTC offset as last seen on a group returned there (UTC before any)."""
    if location.utc_offset_minutes is None:
        return UTC
    return timezone(timedelta(minutes=location.utc_offset_minutes))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
