"""Reading a unit value written before the queues moved into the group records (ADR 29).

Such a value holds every location's queue (`queues`: one entry per waiting group, in
order). It is read as a unit value plus each waiting group's `Wait`, numbered in queue
order; the store attaches them to the groups' records, and the first command that
changes the unit writes those records with their waits and the unit value without the
queues. Until then the old value stays in force, so a crash in between changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter

from services.placement.records import UNIT_CODEC, UnitState, Wait


@dataclass(frozen=True)
class LegacyEntry:
    """A waiting group as an old unit value listed it."""

    group_id: str
    members: tuple[str, ...]
    beds: int
    screened_event_id: str
    wait: Wait


_WAIT = TypeAdapter(Wait)


def read_legacy_unit(raw: bytes) -> tuple[UnitState, dict[str, list[LegacyEntry]]] | None:
    """The unit and its queues from an old unit value; None if `raw` is not one."""
    value: dict[str, Any] = json.loads(raw)
    if "queues" not in value:
        return None
    locations = {code: _location(data) for code, data in value["locations"].items()}
    queues: dict[str, list[LegacyEntry]] = {}
    sequence = 0
    for code, entries in value["queues"].items():
        for entry in entries:
            queues.setdefault(code, []).append(_entry(entry, sequence))
            sequence += 1
    unit = UNIT_CODEC.validate_python(
        {
            "unit": value["unit"],
            "locations": locations,
            "applied_offset": value.get("applied_offset", -1),
            "last_event_at": value.get("last_event_at"),
            "next_sequence": sequence,
            "waiting": {code: len(entries) for code, entries in queues.items() if entries},
        }
    )
    return unit, queues


def _location(data: dict[str, Any]) -> dict[str, Any]:
    """An old location snapshot as a `LocationState`'s fields (shelters name their id)."""
    shelters = {
        shelter_id: {"shelter_id": shelter_id, **shelter}
        for shelter_id, shelter in data["shelters"].items()
    }
    return {**data, "shelters": shelters}


def _entry(data: dict[str, Any], sequence: int) -> LegacyEntry:
    wait = _WAIT.validate_python(
        {
            "sequence": sequence,
            "crossing": data["crossing"],
            "returned_at": data["returned_at"],
            "deferred_since": data["deferred_since"],
            "reason": data["reason"],
            "bypassed": data.get("bypassed", 0),
            "reported": data.get("reported", ()),
        }
    )
    return LegacyEntry(
        data["group_id"], tuple(data["members"]), data["beds"], data["screened_event_id"], wait
    )
