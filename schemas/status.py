"""Events from INM and shelters that change what placement may do."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from schemas.base import EventData, GroupId, LocationCode, ShelterId

SecurityLevel = Literal["normal", "elevated", "suspended"]


class LocationStatusChanged(EventData):
    """Security level and daily reception cap of a location, from INM or ops."""

    EVENT_TYPE = "location-status-changed"

    location: LocationCode
    security_level: SecurityLevel
    daily_cap: int = Field(ge=0, le=10_000)
    effective_at: AwareDatetime
    note: str | None = Field(default=None, max_length=500)
    changed_by: str | None = Field(
        default=None,
        max_length=64,
        description="the official who made the change (a console user name), when known",
    )


class CapacityUpdated(EventData):
    """A shelter's total beds."""

    EVENT_TYPE = "capacity-updated"

    shelter_id: ShelterId
    location: LocationCode
    beds: int = Field(ge=0, le=100_000)
    effective_at: AwareDatetime
    reported_by: str | None = Field(
        default=None, max_length=64, description="who reported the figure, when known"
    )


class ShelterDeparted(EventData):
    """A group left its shelter; its beds are free again."""

    EVENT_TYPE = "shelter-departed"

    group_id: GroupId
    shelter_id: ShelterId
    location: LocationCode
    departed_at: AwareDatetime
    reported_by: str | None = Field(
        default=None, max_length=64, description="who recorded the departure, when known"
    )
