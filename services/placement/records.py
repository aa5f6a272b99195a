"""What the single writer keeps in its table, as JSON: one unit's state, and one record per group.

Both kinds live in one table (``placement-state``), written only by the writer while it
processes the unit's partition, so all of a unit's writes land, in order, on one
changelog partition. A crash persists a prefix of them; `written_offset` and
`applied_offset` tell a complete command from a partial one (see `handlers`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.decisions import DeferralReason
from schemas.status import SecurityLevel
from services.placement.state import (
    GroupRequest,
    LocationState,
    ShelterState,
    WaitingGroup,
    initial_states,
)
from services.reference import Reference, ShelterServes

KEPT_DAYS = 14
"""Days of placement counts kept per location: a late event counts against its own day."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ShelterSnapshot(_Record):
    beds: int
    occupied: int
    serves: ShelterServes
    capacity_effective_at: AwareDatetime | None = None


class LocationSnapshot(_Record):
    """A location's `LocationState`, plus what the writer needs to order and date events."""

    code: str
    security_level: SecurityLevel
    daily_cap: int
    placements_by_date: dict[date, int]
    shelters: dict[str, ShelterSnapshot]
    alternate: str | None
    status_effective_at: AwareDatetime | None = None
    drained_on: date | None = Field(default=None, description="local date of the last retry")
    utc_offset_minutes: int | None = Field(
        default=None, description="offset of the last group returned here: its local clock"
    )

    def to_state(self) -> LocationState:
        shelters = {
            shelter_id: ShelterState(shelter_id, s.beds, s.occupied, s.serves)
            for shelter_id, s in self.shelters.items()
        }
        return LocationState(
            self.code,
            self.security_level,
            self.daily_cap,
            dict(self.placements_by_date),
            shelters,
            self.alternate,
        )

    def with_state(self, state: LocationState) -> LocationSnapshot:
        """This snapshot with the status, cap, counts and occupancy of `state`."""
        kept = sorted(state.placements_by_date)[-KEPT_DAYS:]
        shelters = {
            shelter_id: self.shelters[shelter_id].model_copy(
                update={"beds": s.beds, "occupied": s.occupied}
            )
            for shelter_id, s in state.shelters.items()
        }
        return self.model_copy(
            update={
                "security_level": state.security_level,
                "daily_cap": state.daily_cap,
                "placements_by_date": {day: state.placements_by_date[day] for day in kept},
                "shelters": shelters,
            }
        )


class WaitingEntry(_Record):
    """A `WaitingGroup` and the deferral reasons already announced for it."""

    group_id: str
    crossing: str
    members: tuple[str, ...]
    beds: int
    returned_at: AwareDatetime
    screened_event_id: str
    location: str
    deferred_since: AwareDatetime
    reason: DeferralReason
    bypassed: int = 0
    reported: tuple[DeferralReason, ...] = ()

    def to_waiting(self) -> WaitingGroup:
        request = GroupRequest(
            self.group_id,
            self.crossing,
            self.members,
            self.beds,
            self.returned_at,
            self.screened_event_id,
        )
        return WaitingGroup(request, self.location, self.deferred_since, self.reason, self.bypassed)

    @classmethod
    def of(cls, group: WaitingGroup, reported: tuple[DeferralReason, ...]) -> WaitingEntry:
        request = group.request
        return cls(
            group_id=request.group_id,
            crossing=request.crossing,
            members=request.members,
            beds=request.beds,
            returned_at=request.returned_at,
            screened_event_id=request.screened_event_id,
            location=group.location,
            deferred_since=group.deferred_since,
            reason=group.reason,
            bypassed=group.bypassed,
            reported=reported,
        )


class UnitState(_Record):
    """Everything one writer keeps about one unit, written as one table value."""

    unit: str
    applied_offset: int = Field(default=-1, description="last command offset fully applied")
    locations: dict[str, LocationSnapshot]
    queues: dict[str, tuple[WaitingEntry, ...]] = Field(default_factory=dict)
    last_event_at: AwareDatetime | None = Field(
        default=None, description="when the unit's latest events happened (see `handlers`)"
    )

    def queue(self, location: str) -> tuple[WaitingEntry, ...]:
        return self.queues.get(location, ())


GroupStatus = Literal["waiting", "placed", "departed", "withdrawn"]


class GroupRecord(_Record):
    """What the writer knows of one group: where it waits or was placed, and its beds.

    `withdrawn`: its live decision no longer accepts it (beds and place given back).
    Records written before re-decisions existed have no `members`, `counted_on` or
    `decisions`; a re-decision of such a group gives back its beds but not its day count.

    Valid only once the unit's `applied_offset` has reached `written_offset`: a record
    written by a command whose unit state never reached the changelog is ignored, and
    the version it replaced (`previous`) counts until that command is processed again.
    """

    group_id: str
    unit: str
    status: GroupStatus
    home: str
    location: str | None = None
    shelter_id: str | None = None
    beds: int
    screened_event_id: str
    placed_event_id: str | None = None
    members: tuple[str, ...] = ()
    counted_on: date | None = Field(
        default=None, description="local date the placement counted against the daily cap"
    )
    decisions: tuple[str, ...] = Field(
        default=(), description="screened event ids applied or superseded: a repeat is a duplicate"
    )
    written_offset: int
    previous: GroupRecord | None = Field(
        default=None, description="the version this one replaced, while it may be incomplete"
    )

    def has_seen(self, screened_event_id: str) -> bool:
        """Whether this decision of the group was already applied, or is an older one."""
        return screened_event_id == self.screened_event_id or screened_event_id in self.decisions

    @property
    def live(self) -> bool:
        """Whether the group holds beds or a place in the queue."""
        return self.status in ("placed", "waiting")

    def valid_at(self, applied_offset: int) -> GroupRecord | None:
        """This record if its command was applied, else the version it replaced (if valid)."""
        if self.written_offset <= applied_offset:
            return self
        if self.previous is not None and self.previous.written_offset <= applied_offset:
            return self.previous
        return None


def unit_key(unit: str) -> str:
    return f"unit/{unit}"


def group_key(unit: str, group_id: str) -> str:
    # The unit is part of the key: keys of every partition share one store.
    return f"group/{unit}/{group_id}"


def seed_unit(reference: Reference, unit: str, locations: tuple[str, ...]) -> UnitState:
    """A unit as the reference data describes it: nobody placed, nobody waiting."""
    states = initial_states(reference)
    return UnitState(unit=unit, locations={code: _snapshot(states[code]) for code in locations})


def with_seeded(state: UnitState, seed: UnitState) -> UnitState:
    """`state` plus the locations and shelters that the reference data (`seed`) added since."""
    locations = dict(state.locations)
    for code, fresh in seed.locations.items():
        if code not in locations:
            locations[code] = fresh
            continue
        missing = {k: v for k, v in fresh.shelters.items() if k not in locations[code].shelters}
        if missing:
            shelters = {**locations[code].shelters, **missing}
            locations[code] = locations[code].model_copy(update={"shelters": shelters})
    return state.model_copy(update={"locations": locations})


def _snapshot(state: LocationState) -> LocationSnapshot:
    return LocationSnapshot(
        code=state.code,
        security_level=state.security_level,
        daily_cap=state.daily_cap,
        placements_by_date=dict(state.placements_by_date),
        shelters={
            shelter_id: ShelterSnapshot(beds=s.beds, occupied=s.occupied, serves=s.serves)
            for shelter_id, s in state.shelters.items()
        },
        alternate=state.alternate,
    )


def utc_offset_minutes(moment: datetime) -> int | None:
    offset = moment.utcoffset()
    return None if offset is None else int(offset.total_seconds() // 60)
