"""What an official's form becomes: one event, or the reasons it cannot be one. Pure.

Suspend, reopen and set the daily cap each publish ``location-status-changed`` with the
note and the user's name (``changed_by``); beds publish ``capacity-updated``, a departure
``shelter-departed``. Event ids are deterministic in what was asked and when, so a
re-sent form within the same millisecond is recognised as the same event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import ValidationError

from schemas.base import EventData
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.status import CapacityUpdated, LocationStatusChanged, SecurityLevel, ShelterDeparted
from services.reference import Reference

PRODUCER = "console/0.1.0"
StatusAction = Literal["suspend", "reopen", "set_cap", "elevate"]
LEVEL_OF: dict[str, SecurityLevel | None] = {
    "suspend": "suspended",
    "reopen": "normal",
    "elevate": "elevated",
    "set_cap": None,  # keeps the current level
}


@dataclass(frozen=True)
class Invalid:
    """Form fields that are wrong, each with a message key (see ``i18n``)."""

    problems: dict[str, str]  # field -> message key


@dataclass(frozen=True)
class Outgoing:
    topic: str
    envelope: Envelope[Any]


def status_change(
    form: Mapping[str, str], location: str, user: str, now: datetime, reference: Reference
) -> Outgoing | Invalid:
    """Suspend, reopen, elevate or set the cap of ``location``, with a required note."""
    problems: dict[str, str] = {}
    if location not in {loc.code for loc in reference.locations}:
        return Invalid({"location": "error_unknown_location"})
    action = form.get("action", "")
    if action not in LEVEL_OF:
        problems["action"] = "error_unknown_action"
    note = form.get("note", "").strip()
    if not note:
        problems["note"] = "error_note_required"
    elif len(note) > 500:
        problems["note"] = "error_note_too_long"
    cap = _int(form.get("daily_cap", ""))
    if cap is None or not 0 <= cap <= 10_000:
        problems["daily_cap"] = "error_cap_range"
    level = LEVEL_OF.get(action) or form.get("current_level", "")
    if level not in ("normal", "elevated", "suspended"):
        problems["current_level"] = "error_unknown_level"
    if problems or cap is None:
        return Invalid(problems)
    data = _valid(
        LocationStatusChanged,
        location=location,
        security_level=level,
        daily_cap=cap,
        effective_at=now,
        note=note,
        changed_by=user,
    )
    if isinstance(data, Invalid):
        return data
    key = (location, user, now.isoformat(), data.security_level, str(cap))
    return _outgoing("location-status-changed", data, location, key, now, reference)


def beds_update(
    form: Mapping[str, str], user: str, now: datetime, reference: Reference
) -> Outgoing | Invalid:
    """A shelter's total beds."""
    shelter = _shelter(form.get("shelter_id", ""), reference)
    beds = _int(form.get("beds", ""))
    problems: dict[str, str] = {}
    if shelter is None:
        problems["shelter_id"] = "error_unknown_shelter"
    if beds is None or not 0 <= beds <= 100_000:
        problems["beds"] = "error_beds_range"
    if problems or shelter is None or beds is None:
        return Invalid(problems)
    data = _valid(
        CapacityUpdated,
        shelter_id=shelter,
        location=_location_of(shelter, reference),
        beds=beds,
        effective_at=now,
        reported_by=user,
    )
    if isinstance(data, Invalid):
        return data
    key = (shelter, user, now.isoformat(), str(beds))
    return _outgoing("capacity-updated", data, shelter, key, now, reference)


def departure(
    form: Mapping[str, str], user: str, now: datetime, reference: Reference
) -> Outgoing | Invalid:
    """A group left its shelter; placement frees its beds (it rejects one it never placed)."""
    shelter = _shelter(form.get("shelter_id", ""), reference)
    group_id = form.get("group_id", "").strip()
    problems: dict[str, str] = {}
    if shelter is None:
        problems["shelter_id"] = "error_unknown_shelter"
    if not group_id or len(group_id) > 64:
        problems["group_id"] = "error_group_id"
    if problems or shelter is None:
        return Invalid(problems)
    data = _valid(
        ShelterDeparted,
        group_id=group_id,
        shelter_id=shelter,
        location=_location_of(shelter, reference),
        departed_at=now,
        reported_by=user,
    )
    if isinstance(data, Invalid):
        return data
    # One departure per group and shelter, whoever records it twice.
    return _outgoing("shelter-departed", data, group_id, (group_id, shelter), now, reference)


def _outgoing(
    topic: str,
    data: EventData,
    key: str,
    id_parts: tuple[str, ...],
    now: datetime,
    reference: Reference,
) -> Outgoing:
    location = getattr(data, "location", None)
    envelope = make_envelope(
        data,
        event_id=event_id_for(data.EVENT_TYPE, "console", *id_parts),
        producer=PRODUCER,
        correlation_id=key,
        causation_id=None,
        crossing=_crossing_of(location, reference),
        occurred_at=now,
    )
    return Outgoing(topic, envelope)


def _valid(model: type[EventData], **fields: Any) -> Any:
    try:
        return model(**fields)
    except ValidationError as exc:
        return Invalid({str(e["loc"][0]): "error_invalid_value" for e in exc.errors()})


def _int(text: str) -> int | None:
    try:
        return int(text.strip())
    except ValueError:
        return None


def _shelter(shelter_id: str, reference: Reference) -> str | None:
    known = {s.id for s in reference.shelters}
    return shelter_id if shelter_id in known else None


def _location_of(shelter_id: str, reference: Reference) -> str:
    return next(s.location for s in reference.shelters if s.id == shelter_id)


def _crossing_of(location: str | None, reference: Reference) -> str | None:
    return next((c.code for c in reference.crossings if c.location == location), None)
