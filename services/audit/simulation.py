"""A placement stand-in for synthetic histories: the placement writer's own decisions, in memory.

Used by `synthetic` to write the `placed`, `placement-deferred` and `placement-withdrawn`
events of a generated history (tests and the replay benchmark), never by the audit
itself. Each input becomes the command the placement service would issue, and
`services.placement.handlers.decide` (pure) decides it on the unit's state, so the
history follows the writer's rules exactly: queues joined and drained, reasons
announced once, re-decided groups moved or released, and the writer's event ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from schemas.envelope import Envelope
from schemas.status import SecurityLevel
from services.placement.commands import (
    CheckLocalDay,
    Command,
    PlaceGroup,
    ReleaseBeds,
    SetLocationStatus,
    SetShelterCapacity,
    WithdrawGroup,
)
from services.placement.handlers import decide
from services.placement.records import GroupRecord
from services.placement.routing import PlacementUnits, anchor_of
from services.placement.state import GroupRequest
from services.placement.store import UnitStore
from services.reference import Reference

PRODUCER = "placement-sim/0.1.0"


@dataclass
class PlacementSimulator:
    """Every unit's state and every group's record, changed by one call per input event.

    They live as the writer keeps them, in a `UnitStore`, over a plain dict for a table.
    """

    reference: Reference
    units: PlacementUnits = field(init=False)
    store: UnitStore = field(init=False)
    groups: dict[str, GroupRecord] = field(default_factory=dict)
    offset: int = 0

    def __post_init__(self) -> None:
        by_location = {
            loc.code: anchor_of(self.reference, loc.code) for loc in self.reference.locations
        }
        self.units = PlacementUnits(by_location, dict.fromkeys(set(by_location.values()), 0))
        self.store = UnitStore({}, self.reference, self.units)

    def accept(
        self, request: GroupRequest, now: datetime, supersedes: str | None = None
    ) -> list[Envelope[Any]]:
        """An accepted decision of a group (a first one, or one that `supersedes` another)."""
        home = self._home(request.crossing)
        return self._run(
            PlaceGroup(
                unit=self.units.unit_of(home),
                issued_at=now,
                group_id=request.group_id,
                crossing=request.crossing,
                location=home,
                members=request.members,
                beds=request.beds,
                returned_at=request.returned_at,
                screened_event_id=request.screened_event_id,
                supersedes=supersedes,
            )
        )

    def withdraw(
        self, group_id: str, crossing: str, screened_event_id: str, supersedes: str, now: datetime
    ) -> list[Envelope[Any]]:
        """A re-decision that no longer accepts the group."""
        home = self._home(crossing)
        return self._run(
            WithdrawGroup(
                unit=self.units.unit_of(home),
                issued_at=now,
                group_id=group_id,
                crossing=crossing,
                location=home,
                screened_event_id=screened_event_id,
                supersedes=supersedes,
            )
        )

    def status(
        self, location: str, level: SecurityLevel, cap: int, now: datetime
    ) -> list[Envelope[Any]]:
        return self._run(
            SetLocationStatus(
                unit=self.units.unit_of(location),
                issued_at=now,
                location=location,
                security_level=level,
                daily_cap=cap,
                effective_at=now,
                event_id=f"status-{location}-{now.isoformat()}",
            )
        )

    def capacity(
        self, location: str, shelter_id: str, beds: int, now: datetime
    ) -> list[Envelope[Any]]:
        return self._run(
            SetShelterCapacity(
                unit=self.units.unit_of(location),
                issued_at=now,
                location=location,
                shelter_id=shelter_id,
                beds=beds,
                effective_at=now,
                event_id=f"capacity-{shelter_id}-{now.isoformat()}",
            )
        )

    def departure(self, group_id: str, now: datetime) -> list[Envelope[Any]]:
        """The group placed as `group_id` left its shelter (ignored if it holds no beds)."""
        record = self.groups.get(group_id)
        if record is None or record.location is None or record.shelter_id is None:
            return []
        return self._run(
            ReleaseBeds(
                unit=record.unit,
                issued_at=now,
                group_id=group_id,
                location=record.location,
                shelter_id=record.shelter_id,
                event_id=f"departed-{group_id}",
            )
        )

    def new_day(self, now: datetime) -> list[Envelope[Any]]:
        """The wall-clock tick: each unit with a queue retries it on a new local date."""
        out: list[Envelope[Any]] = []
        for unit in sorted(self.units.partition_by_unit):
            if self.store.load(unit).waiting:
                out += self._run(CheckLocalDay(unit=unit, issued_at=now))
        return out

    def _home(self, crossing: str) -> str:
        return self.reference.location_for_crossing(crossing).code

    def _run(self, command: Command) -> list[Envelope[Any]]:
        self.offset += 1
        state = self.store.load(command.unit)
        queues = self.store.queues(state).locations
        outcome = decide(command, state, queues, self.offset, self.groups.get, PRODUCER)
        self.store.save(outcome, state)
        self.groups.update((record.group_id, record) for record in outcome.records)
        return [emission.envelope for emission in outcome.emissions]
