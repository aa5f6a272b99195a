"""What the single writer keeps in its table, as JSON: one small value per unit, one per group.

Both kinds live in one table (``placement-state``), written only by the writer while it
processes the unit's partition, so all of a unit's writes land, in order, on one
changelog partition. A crash persists a prefix of them; `written_offset` and
`applied_offset` tell a complete command from a partial one (see `handlers`).

The unit value holds only what stays small whatever the queues' length: each
location's status, cap, shelters and counts of the kept days, the unit's clocks and the
queue's sequence counter. A waiting group's place in its queue is its own record's
`wait`, so a command writes the unit value and only the groups it changed; the queues'
order is rebuilt in memory from the records (`queues.UnitQueues`, docs/adr/0029).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, ConfigDict, TypeAdapter

from schemas.decisions import DeferralReason
from services.placement.state import GroupRequest, LocationState, initial_states
from services.reference import Reference

KEPT_DAYS = 14
"""Days of placement counts kept per location: a late event counts against its own day."""

_STRICT = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class UnitState:
    """Everything one writer keeps about one unit that does not grow with its queues.

    `applied_offset`: the last command offset fully applied. `last_event_at`: when the
    unit's latest events happened (see `handlers`). `next_sequence`: the place in line
    the next group to wait in any of the unit's queues gets. `waiting`: how many groups
    wait per location, so that a partial write is recognisable and ticks skip idle units.
    """

    __pydantic_config__ = _STRICT

    unit: str
    locations: Mapping[str, LocationState]
    applied_offset: int = -1
    last_event_at: AwareDatetime | None = None
    next_sequence: int = 0
    waiting: Mapping[str, int] = field(default_factory=dict)

    def location(self, code: str) -> LocationState:
        return self.locations[code]

    def with_locations(self, changed: Mapping[str, LocationState]) -> UnitState:
        """This unit with the locations of `changed` replaced (their old days dropped)."""
        kept = {code: state.keeping(KEPT_DAYS) for code, state in changed.items()}
        return replace(self, locations={**self.locations, **kept})

    def with_waiting(self, counts: Mapping[str, int]) -> UnitState:
        merged = {**self.waiting, **counts}
        return replace(self, waiting={code: n for code, n in sorted(merged.items()) if n})

    def applied(self, offset: int, next_sequence: int, at: datetime | None) -> UnitState:
        """This unit once the command at `offset` is applied; `at` if it emitted events."""
        last = self.last_event_at if at is None else at
        return replace(self, applied_offset=offset, next_sequence=next_sequence, last_event_at=last)

    def seeded(self, seed: UnitState) -> UnitState:
        """This unit plus the locations and shelters the reference data (`seed`) added since."""
        locations = dict(self.locations)
        for code, fresh in seed.locations.items():
            known = locations.get(code)
            locations[code] = fresh if known is None else known.with_shelters(fresh.shelters)
        return replace(self, locations=locations)


@dataclass(frozen=True)
class Wait:
    """A group's place in its home location's queue, and the deferral reasons announced.

    `sequence` orders the queue (arrival order, kept when the group is re-decided);
    `bypassed` counts how often a group behind it was placed while it waited for beds.
    """

    __pydantic_config__ = _STRICT

    sequence: int
    crossing: str
    returned_at: AwareDatetime
    deferred_since: AwareDatetime
    reason: DeferralReason
    bypassed: int = 0
    reported: tuple[DeferralReason, ...] = ()

    @property
    def announced(self) -> bool:
        return self.reason in self.reported


GroupStatus = Literal["waiting", "placed", "departed", "withdrawn"]


@dataclass(frozen=True)
class GroupRecord:
    """What the writer knows of one group: where it waits or was placed, and its beds.

    `withdrawn`: its live decision no longer accepts it (beds and place given back).
    `counted_on`: the local date the placement counted against the daily cap.
    `decisions`: screened event ids applied or superseded, so that a repeat is a duplicate.
    `wait`: its place in the queue of `home`, while `status` is waiting.
    `changed_at`: when it was last written (the command's time, or the time of the
    group's decision it applies if later): an ended record is forgotten a retention
    after it (`retention`). None on records written before it was kept.

    Valid only once the unit's `applied_offset` has reached `written_offset`: a record
    written by a command whose unit state never reached the changelog is ignored, and
    the version it replaced (`previous`) counts until that command is processed again.
    """

    __pydantic_config__ = _STRICT

    group_id: str
    unit: str
    status: GroupStatus
    home: str
    beds: int
    screened_event_id: str
    written_offset: int
    location: str | None = None
    shelter_id: str | None = None
    placed_event_id: str | None = None
    members: tuple[str, ...] = ()
    counted_on: date | None = None
    decisions: tuple[str, ...] = ()
    wait: Wait | None = None
    changed_at: AwareDatetime | None = None
    previous: GroupRecord | None = None

    def has_seen(self, screened_event_id: str) -> bool:
        """Whether this decision of the group was already applied, or is an older one."""
        return screened_event_id == self.screened_event_id or screened_event_id in self.decisions

    @property
    def live(self) -> bool:
        """Whether the group holds beds or a place in the queue."""
        return self.status in ("placed", "waiting")

    @property
    def waits(self) -> Wait:
        """Its wait; only for a record of a waiting group."""
        if self.wait is None:
            raise ValueError(f"group {self.group_id} is not waiting")
        return self.wait

    @property
    def reason(self) -> DeferralReason:
        """Why the waiting group waits (what the drain reads, with `beds` and `bypassed`)."""
        return self.waits.reason

    @property
    def bypassed(self) -> int:
        return self.waits.bypassed

    def request(self) -> GroupRequest:
        """What the waiting group asks for, as the policy takes it."""
        wait = self.waits
        return GroupRequest(
            self.group_id,
            wait.crossing,
            self.members,
            self.beds,
            wait.returned_at,
            self.screened_event_id,
        )

    def valid_at(self, applied_offset: int) -> GroupRecord | None:
        """This record if its command was applied, else the version it replaced (if valid)."""
        if self.written_offset <= applied_offset:
            return self
        if self.previous is not None and self.previous.written_offset <= applied_offset:
            return self.previous
        return None

    def replacing(self, replaced: GroupRecord | None) -> GroupRecord:
        """This record, keeping `replaced` (without its own history) while this may be partial."""
        kept = None if replaced is None else replace(replaced, previous=None)
        return replace(self, previous=kept)

    def waiting_with(self, wait: Wait, offset: int) -> GroupRecord:
        return replace(self, wait=wait, written_offset=offset)

    def knowing(self, decisions: tuple[str, ...], offset: int) -> GroupRecord:
        return replace(self, decisions=decisions, written_offset=offset)

    def ended(self, status: GroupStatus, offset: int) -> GroupRecord:
        """This group departed or withdrawn: it no longer waits."""
        return replace(self, status=status, wait=None, written_offset=offset)

    def following(self, screened_event_id: str, offset: int) -> GroupRecord:
        return replace(self, screened_event_id=screened_event_id, written_offset=offset)

    def stamped(self, at: datetime) -> GroupRecord:
        """This record, last changed at `at` (never moved back)."""
        latest = at if self.changed_at is None else max(self.changed_at, at)
        return self if latest == self.changed_at else replace(self, changed_at=latest)


UNIT_CODEC = TypeAdapter(UnitState)
GROUP_CODEC = TypeAdapter(GroupRecord)


def unit_key(unit: str) -> str:
    return f"unit/{unit}"


def group_key(unit: str, group_id: str) -> str:
    # The unit is part of the key: keys of every partition share one store.
    return f"group/{unit}/{group_id}"


def group_prefix(unit: str) -> str:
    return f"group/{unit}/"


def seed_unit(reference: Reference, unit: str, locations: tuple[str, ...]) -> UnitState:
    """A unit as the reference data describes it: nobody placed, nobody waiting."""
    states = initial_states(reference)
    return UnitState(unit=unit, locations={code: states[code] for code in locations})
