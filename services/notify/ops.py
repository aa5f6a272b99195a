"""Notify's JSON page of legal-aid work, `/notify/requests`: open and overdue requests per
location and provider, with ids, stages and times only (no person's data)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from services.notify.progress import TrackedRequest


def requests_page(tracked: Iterable[TrackedRequest], now: datetime) -> dict[str, Any]:
    """Counts of open (held) and overdue requests per location and provider, and the
    overdue requests themselves, most overdue first."""
    locations: dict[str, dict[str, Any]] = {}
    overdue: list[TrackedRequest] = []
    for one in tracked:
        if not one.held:
            continue
        request = one.request
        place = locations.setdefault(
            request.location or "unknown", {"open": 0, "overdue": 0, "providers": {}}
        )
        provider = place["providers"].setdefault(
            request.provider_id, {"open": 0, "overdue": 0, "accepted": 0}
        )
        place["open"] += 1
        provider["open"] += 1
        if one.stage != "issued":
            provider["accepted"] += 1
        if one.late:
            place["overdue"] += 1
            provider["overdue"] += 1
            overdue.append(one)
    overdue.sort(key=lambda one: (one.request.due_by or now, one.event_id))
    return {
        "at": now.isoformat(),
        "locations": dict(sorted(locations.items())),
        "overdue": [
            {
                "request_event_id": one.event_id,
                "location": one.request.location,
                "provider_id": one.request.provider_id,
                "purpose": one.request.purpose,
                "stage": one.stage,
                "due_by": one.request.due_by.isoformat() if one.request.due_by else None,
            }
            for one in overdue
        ],
    }
