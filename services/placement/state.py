"""What placement knows about one location, as immutable values with pure transitions.

Every transition returns a new state and leaves the old one untouched, so a decision can
be computed, tested and replayed without anything changing behind its back. The mappings
inside a state are never mutated either: the helpers copy them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime

from schemas.decisions import DeferralReason
from schemas.status import SecurityLevel
from services.reference import Reference, ShelterServes


@dataclass(frozen=True)
class ShelterState:
    """One shelter: its total beds now, and how many of them are taken."""

    shelter_id: str
    beds: int
    occupied: int
    serves: ShelterServes = "families_and_adults"
    capacity_effective_at: datetime | None = None
    """When the beds in force were reported: an older report is stale (see `fold`)."""

    @property
    def free(self) -> int:
        """Beds free now; never negative, even when a capacity cut left it over-full."""
        return max(0, self.beds - self.occupied)

    @property
    def takes_families_and_adults(self) -> bool:
        """Whether adult and family groups may be placed here at all."""
        return self.serves == "families_and_adults"


@dataclass(frozen=True)
class LocationState:
    """One location: status, daily reception cap, people received per local date, shelters.

    The same value serves the policy, the writer's table and the audit's replay. The last
    three fields are the writer's bookkeeping: when the status in force was set, the local
    date of the last retry of the queue, and the UTC offset of the last group returned
    here (the location's clock, for ops).
    """

    code: str
    security_level: SecurityLevel
    daily_cap: int
    placements_by_date: Mapping[date, int]
    shelters: Mapping[str, ShelterState]
    alternate: str | None = None
    status_effective_at: datetime | None = None
    drained_on: date | None = None
    utc_offset_minutes: int | None = None

    def placements_on(self, day: date) -> int:
        """People received here on the local date `day` (counted against the daily cap)."""
        return self.placements_by_date.get(day, 0)

    def drained(self, day: date) -> LocationState:
        """This location, its queue last retried on the local date `day`."""
        return self if self.drained_on == day else replace(self, drained_on=day)

    def clock_of(self, moment: datetime) -> LocationState:
        """This location, its clock taken from `moment` (a group returned here)."""
        offset = moment.utcoffset()
        minutes = None if offset is None else int(offset.total_seconds() // 60)
        return (
            self
            if minutes == self.utc_offset_minutes
            else replace(self, utc_offset_minutes=minutes)
        )

    def keeping(self, days: int) -> LocationState:
        """This location with the counts of only its latest `days` local dates."""
        if len(self.placements_by_date) <= days:
            return self
        kept = sorted(self.placements_by_date)[-days:]
        return replace(self, placements_by_date={day: self.placements_by_date[day] for day in kept})

    def with_shelters(self, fresh: Mapping[str, ShelterState]) -> LocationState:
        """This location plus the shelters of `fresh` it does not know yet (new reference data)."""
        missing = {k: v for k, v in fresh.items() if k not in self.shelters}
        return replace(self, shelters={**self.shelters, **missing}) if missing else self


@dataclass(frozen=True)
class GroupRequest:
    """An accepted group asking for one shelter, all members together."""

    group_id: str
    crossing: str
    members: tuple[str, ...]
    beds: int
    returned_at: datetime
    screened_event_id: str

    def __post_init__(self) -> None:
        if self.beds < 1:
            raise ValueError(f"group {self.group_id} needs at least one bed, not {self.beds}")
        if self.returned_at.utcoffset() is None:
            # The local date, and so the daily cap, is defined by the offset of returned_at.
            raise ValueError(f"group {self.group_id}: returned_at must carry its UTC offset")


@dataclass(frozen=True)
class WaitingGroup:
    """A group deferred at `location` since `deferred_since`, and why.

    `bypassed` counts how often a group behind it was placed while it waited for beds;
    the queue's fairness rule (see `policy.drain_queue`) bounds it.
    """

    request: GroupRequest
    location: str
    deferred_since: datetime
    reason: DeferralReason
    bypassed: int = 0

    @property
    def beds(self) -> int:
        return self.request.beds


def local_date(moment: datetime, offset_of: datetime | None = None) -> date:
    """The calendar date of `moment` in its own UTC offset, or in that of `offset_of`.

    `local_date(group.returned_at)` is the date a first attempt counts against the cap
    (23:30 at -07:00 on the 27th is the 27th). For a retry, pass the time of the retry and
    a moment carrying the location's offset: `local_date(now, offset_of=group.returned_at)`.
    """
    zone = (offset_of if offset_of is not None else moment).tzinfo
    if zone is None or moment.utcoffset() is None:
        raise ValueError("local_date needs aware datetimes")
    return moment.astimezone(zone).date()


def with_placement(state: LocationState, shelter_id: str, beds: int, day: date) -> LocationState:
    """The state after `beds` people were placed in `shelter_id` on the local date `day`.

    It records a decision already taken and does not check for room: replaying the
    `placed` log must rebuild the state even when a capacity cut was applied in between.
    `policy.place_group` only ever proposes a shelter with room.
    """
    if beds < 1:
        raise ValueError(f"a placement takes at least one bed, not {beds}")
    shelter = _shelter(state, shelter_id)
    shelters = {**state.shelters, shelter_id: replace(shelter, occupied=shelter.occupied + beds)}
    by_date = {**state.placements_by_date, day: state.placements_on(day) + beds}
    return replace(state, shelters=shelters, placements_by_date=by_date)


def with_departure(state: LocationState, shelter_id: str, beds: int) -> LocationState:
    """The state after a group of `beds` people left `shelter_id`.

    The day's placement count is unchanged: the cap counts people received, not present.
    Occupancy never goes below zero, so a departure of a group placed before the state
    was seeded cannot make beds appear that do not exist.
    """
    if beds < 1:
        raise ValueError(f"a departure frees at least one bed, not {beds}")
    shelter = _shelter(state, shelter_id)
    occupied = max(0, shelter.occupied - beds)
    return replace(
        state, shelters={**state.shelters, shelter_id: replace(shelter, occupied=occupied)}
    )


def with_withdrawal(state: LocationState, shelter_id: str, beds: int, day: date) -> LocationState:
    """The state after a placement of `beds` people counted on `day` was taken back.

    Unlike a departure, the day's count is given back too: the group is placed again,
    whole, and counts then (a group re-decided with other members is received once).
    """
    freed = with_departure(state, shelter_id, beds)
    count = max(0, freed.placements_on(day) - beds)
    return replace(freed, placements_by_date={**freed.placements_by_date, day: count})


def with_capacity(state: LocationState, shelter_id: str, beds: int) -> LocationState:
    """The state after `shelter_id` reported `beds` beds in all (a cut may leave it over-full).

    An unknown shelter raises `KeyError`: who a new shelter serves is not in the event,
    and guessing could put adults in a shelter for unaccompanied children. New shelters
    are added to the reference data first.
    """
    if beds < 0:
        raise ValueError(f"a shelter cannot have {beds} beds")
    shelter = replace(_shelter(state, shelter_id), beds=beds)
    return replace(state, shelters={**state.shelters, shelter_id: shelter})


def with_status(
    state: LocationState, security_level: SecurityLevel, daily_cap: int
) -> LocationState:
    """The state after INM or ops set the location's security level and daily reception cap."""
    if daily_cap < 0:
        raise ValueError(f"a daily reception cap cannot be {daily_cap}")
    return replace(state, security_level=security_level, daily_cap=daily_cap)


def status_set_at(state: LocationState, effective_at: datetime) -> LocationState:
    """The state with `effective_at` as the time of the status in force."""
    return replace(state, status_effective_at=effective_at)


def capacity_set_at(state: LocationState, shelter_id: str, effective_at: datetime) -> LocationState:
    """The state with `effective_at` as the time of `shelter_id`'s beds in force."""
    shelter = replace(_shelter(state, shelter_id), capacity_effective_at=effective_at)
    return replace(state, shelters={**state.shelters, shelter_id: shelter})


def initial_states(reference: Reference) -> dict[str, LocationState]:
    """Every location in the reference data, seeded with its shelters, cap, status, alternate.

    Nobody is placed yet: live occupancy and placements come from events afterwards.
    """
    return {
        location.code: LocationState(
            code=location.code,
            security_level=location.security_status,
            daily_cap=location.daily_reception_cap,
            placements_by_date={},
            shelters={
                shelter.id: ShelterState(shelter.id, shelter.beds, 0, shelter.serves)
                for shelter in reference.shelters_at(location.code)
            },
            alternate=location.alternate,
        )
        for location in reference.locations
    }


def _shelter(state: LocationState, shelter_id: str) -> ShelterState:
    try:
        return state.shelters[shelter_id]
    except KeyError:
        raise KeyError(f"{shelter_id!r} is not a shelter at {state.code}") from None
