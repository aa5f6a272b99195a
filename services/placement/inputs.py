"""Input events -> commands for the unit that owns their location, or a recorded rejection.

Pure: the reference data, the units and the issue time go in; a command, a rejection or
nothing (an event placement does not act on, such as a group whose first decision was
not to accept it) comes out. A re-decision that no longer accepts a group becomes a
`WithdrawGroup`, so that the writer releases what the earlier decision gave it. What
needs the live state (a departure of a group never placed) is checked by the writer
instead (`handlers`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from schemas.codec import EventValidationError, decode
from schemas.decisions import Screened
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from services.placement.commands import (
    Command,
    PlaceGroup,
    ReleaseBeds,
    SetLocationStatus,
    SetShelterCapacity,
    WithdrawGroup,
)
from services.placement.metrics import Rejection
from services.placement.routing import PlacementUnits
from services.reference import Reference

INPUT_TOPICS = ("screened", "location-status-changed", "capacity-updated", "shelter-departed")
_EVENT_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

Outcome = Command | Rejection | None


class InputTranslator:
    """Validates the input events of placement and addresses them to their unit."""

    def __init__(self, reference: Reference, units: PlacementUnits) -> None:
        self.reference = reference
        self.units = units
        self._by_topic: dict[str, Callable[[bytes, datetime], Outcome]] = {
            "screened": self._screened,
            "location-status-changed": self._status,
            "capacity-updated": self._capacity,
            "shelter-departed": self._departure,
        }

    def command_for(self, topic: str, raw: bytes, issued_at: datetime) -> Outcome:
        """The command for the event `raw` read from contract topic `topic`."""
        try:
            return self._by_topic[topic](raw, issued_at)
        except EventValidationError as exc:
            return _invalid(topic, raw, exc)

    def _screened(self, raw: bytes, issued_at: datetime) -> Outcome:
        envelope = decode(raw, Screened)
        data, event_id = envelope.data, envelope.event_id
        if data.decision != "accepted":
            return self._withdrawal(data, envelope.crossing, event_id, issued_at)
        problem = _screened_problem(data, envelope.crossing, self.reference)
        if problem is not None:
            return Rejection(problem[0], event_id, "screened", problem[1])
        assert data.returned_at is not None  # checked by _screened_problem
        assert envelope.crossing is not None
        location = self.reference.location_for_crossing(envelope.crossing).code
        return PlaceGroup(
            unit=self.units.unit_of(location),
            issued_at=issued_at,
            group_id=data.group_id,
            crossing=envelope.crossing,
            location=location,
            members=tuple(member.case_id for member in data.members),
            beds=len(data.members),
            returned_at=data.returned_at,
            screened_event_id=event_id,
            supersedes=data.supersedes,
            decided_at=envelope.occurred_at,
        )

    def _withdrawal(
        self, data: Screened, crossing: str | None, event_id: str, issued_at: datetime
    ) -> Outcome:
        if data.supersedes is None:
            return None  # a first decision not to accept: nothing was given, nothing to take
        if crossing is None or crossing not in self.reference.crossing_codes:
            return Rejection(
                "UNKNOWN_CROSSING", event_id, "screened", f"{crossing} is not a designated crossing"
            )
        location = self.reference.location_for_crossing(crossing).code
        return WithdrawGroup(
            unit=self.units.unit_of(location),
            issued_at=issued_at,
            group_id=data.group_id,
            crossing=crossing,
            location=location,
            screened_event_id=event_id,
            supersedes=data.supersedes,
        )

    def _status(self, raw: bytes, issued_at: datetime) -> Outcome:
        envelope = decode(raw, LocationStatusChanged)
        data = envelope.data
        problem = self._location_problem(data.location)
        if problem is not None:
            return Rejection(problem[0], envelope.event_id, "location-status-changed", problem[1])
        return SetLocationStatus(
            unit=self.units.unit_of(data.location),
            issued_at=issued_at,
            location=data.location,
            security_level=data.security_level,
            daily_cap=data.daily_cap,
            effective_at=data.effective_at,
            event_id=envelope.event_id,
        )

    def _capacity(self, raw: bytes, issued_at: datetime) -> Outcome:
        envelope = decode(raw, CapacityUpdated)
        data = envelope.data
        problem = self._shelter_problem(data.location, data.shelter_id)
        if problem is not None:
            return Rejection(
                problem[0], envelope.event_id, "capacity-updated", problem[1], data.location
            )
        return SetShelterCapacity(
            unit=self.units.unit_of(data.location),
            issued_at=issued_at,
            location=data.location,
            shelter_id=data.shelter_id,
            beds=data.beds,
            effective_at=data.effective_at,
            event_id=envelope.event_id,
        )

    def _departure(self, raw: bytes, issued_at: datetime) -> Outcome:
        envelope = decode(raw, ShelterDeparted)
        data = envelope.data
        problem = self._shelter_problem(data.location, data.shelter_id)
        if problem is not None:
            return Rejection(
                problem[0], envelope.event_id, "shelter-departed", problem[1], data.location
            )
        return ReleaseBeds(
            unit=self.units.unit_of(data.location),
            issued_at=issued_at,
            group_id=data.group_id,
            location=data.location,
            shelter_id=data.shelter_id,
            event_id=envelope.event_id,
        )

    def _location_problem(self, location: str) -> tuple[str, str] | None:
        if location not in self.units.unit_by_location:
            return "UNKNOWN_LOCATION", f"{location} is not a location in the reference data"
        return None

    def _shelter_problem(self, location: str, shelter_id: str) -> tuple[str, str] | None:
        problem = self._location_problem(location)
        if problem is not None:
            return problem
        at = {shelter.id for shelter in self.reference.shelters_at(location)}
        if shelter_id in at:
            return None
        if any(shelter.id == shelter_id for shelter in self.reference.shelters):
            return "SHELTER_NOT_AT_LOCATION", f"{shelter_id} is not a shelter at {location}"
        return "UNKNOWN_SHELTER", f"{shelter_id} is not a shelter in the reference data"


def _screened_problem(
    data: Screened, crossing: str | None, reference: Reference
) -> tuple[str, str] | None:
    if crossing is None or crossing not in reference.crossing_codes:
        return "UNKNOWN_CROSSING", f"{crossing} is not a designated crossing"
    if data.returned_at is None:
        return "MISSING_RETURNED_AT", "an accepted group needs returned_at to count the daily cap"
    if not data.members:
        return "NO_MEMBERS", "an accepted group has no members"
    if data.decided_after is not None:
        # A member who arrived after the group was placed: beds next to the family are an
        # ops decision (see the placement ADR); it is not silently dropped.
        return "LATE_MEMBER_NEEDS_OPS", f"decided after {data.decided_after}"
    return None


def _invalid(topic: str, raw: bytes, exc: EventValidationError) -> Rejection:
    fields = sorted({error.field or "<record>" for error in exc.errors})
    negative = any(
        (error.field or "").endswith("beds") and error.code.startswith("greater_than")
        for error in exc.errors
    )
    reason = "NEGATIVE_BEDS" if negative else "INVALID_EVENT"
    return Rejection(reason, _event_id_of(raw), topic, f"invalid fields: {', '.join(fields)}")


def _event_id_of(raw: bytes) -> str | None:
    """The event id of an unreadable event, when it has a well-formed one (nothing else)."""
    try:
        document: Any = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    event_id = document.get("event_id") if isinstance(document, dict) else None
    return event_id if isinstance(event_id, str) and _EVENT_ID.match(event_id) else None
