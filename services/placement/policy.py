"""The placement rules (CONTRACT.md, "Placement rules") as pure, deterministic functions.

No I/O and no clock: the date a placement counts against is an argument, `today`.

Which local date counts. A group's first attempt counts against the local date of its
`returned_at` (`state.local_date(request.returned_at)`). A group retried from the queue
counts against the local date on which it is actually placed, at the location, when the
retry runs: the cap limits how many people a location receives in a day, and a group
deferred on the 27th for `DAILY_CAP_REACHED` is received on the 28th, so it must fit the
28th (otherwise "the next day allows" could never happen).

Order of the checks at a location that is not suspended: a group larger than every
shelter's total beds there is `GROUP_EXCEEDS_LARGEST_SHELTER` first (it can never be
placed there as things stand, so no wait for the cap would help), then the daily cap
(`DAILY_CAP_REACHED`), then free beds (`NO_SHELTER_CAPACITY`). `elevated` blocks nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal

from schemas.decisions import DeferralReason
from services.placement.state import (
    GroupRequest,
    LocationState,
    ShelterState,
    WaitingGroup,
    with_placement,
)

MAX_BYPASSES = 3
"""How many later groups may be placed past a group waiting for beds before beds are kept for it."""


@dataclass(frozen=True)
class Placement:
    """Where a group goes: one shelter at one location, all members together."""

    location: str
    shelter_id: str
    beds: int
    rerouted_from: str | None = None
    transport_required: bool = False


@dataclass(frozen=True)
class Deferral:
    """Why a group waits."""

    reason: DeferralReason


# Why an attempt failed, as the queue needs to know it: "cap" keeps strict arrival order,
# "beds" may be passed (boundedly), the others never hold back the groups behind them.
_Cause = Literal["suspended", "cap", "over_cap", "beds", "never"]


@dataclass(frozen=True)
class _Refusal:
    reason: DeferralReason
    cause: _Cause


def shelter_with_most_free_beds(state: LocationState, beds: int) -> ShelterState | None:
    """The shelter for a group of `beds` people, or None when no shelter can take them all.

    Only shelters for families and adults count, never one for unaccompanied children.
    Most free beds wins; ties go to the smallest shelter id, whatever the mapping's order.
    """
    if beds < 1:
        raise ValueError(f"a group needs at least one bed, not {beds}")
    fitting = (
        shelter
        for shelter in state.shelters.values()
        if shelter.takes_families_and_adults and shelter.free >= beds
    )
    return min(fitting, key=lambda shelter: (-shelter.free, shelter.shelter_id), default=None)


def place_group(
    request: GroupRequest, home: LocationState, alternate: LocationState | None, today: date
) -> Placement | Deferral:
    """Decide where `request` goes now, or why it waits, counting it against `today`.

    `home` is the designated location of the group's crossing and `alternate` the state of
    `home.alternate` (None when it has none). A suspended home reroutes the group to a
    non-suspended alternate whose cap and shelters allow, with transport; otherwise the
    group waits with `LOCATION_SUSPENDED`. A new group at a location whose queue is not
    empty must join the queue (`drain_queue`) instead, or it would jump ahead of it.
    """
    outcome = _attempt(request, home, alternate, today)
    return Deferral(outcome.reason) if isinstance(outcome, _Refusal) else outcome


def _attempt(
    request: GroupRequest, home: LocationState, alternate: LocationState | None, today: date
) -> Placement | _Refusal:
    if alternate is not None and alternate.code != home.alternate:
        raise ValueError(f"{alternate.code} is not the alternate of {home.code}")
    if home.security_level != "suspended":
        return _attempt_at(home, request.beds, today)
    beds = request.beds
    if _exceeds_every_shelter(home, beds) and (
        alternate is None or _exceeds_every_shelter(alternate, beds)
    ):
        return _Refusal("GROUP_EXCEEDS_LARGEST_SHELTER", "never")
    if alternate is None or alternate.security_level == "suspended":
        return _Refusal("LOCATION_SUSPENDED", "suspended")
    there = _attempt_at(alternate, beds, today)
    if isinstance(there, _Refusal):
        # Home may take it once it reopens, so a group too big for the alternate still waits.
        cause: _Cause = "suspended" if there.cause == "never" else there.cause
        return _Refusal("LOCATION_SUSPENDED", cause)
    return replace(there, rerouted_from=home.code, transport_required=True)


def _attempt_at(state: LocationState, beds: int, today: date) -> Placement | _Refusal:
    if _exceeds_every_shelter(state, beds):
        return _Refusal("GROUP_EXCEEDS_LARGEST_SHELTER", "never")
    if state.placements_on(today) + beds > state.daily_cap:
        # A group larger than the whole cap cannot use the room it would hold back.
        return _Refusal("DAILY_CAP_REACHED", "over_cap" if beds > state.daily_cap else "cap")
    shelter = shelter_with_most_free_beds(state, beds)
    if shelter is None:
        return _Refusal("NO_SHELTER_CAPACITY", "beds")
    return Placement(state.code, shelter.shelter_id, beds)


def _exceeds_every_shelter(state: LocationState, beds: int) -> bool:
    return all(
        shelter.beds < beds
        for shelter in state.shelters.values()
        if shelter.takes_families_and_adults
    )


@dataclass(frozen=True)
class PlacedGroup:
    """A waiting group that `drain_queue` placed."""

    group: WaitingGroup
    placement: Placement


@dataclass(frozen=True)
class QueueOutcome:
    """The result of one `drain_queue`.

    `placed` is in placement order. `waiting` holds every group not placed, in arrival
    order, with its reason and bypass count brought up to date: it is the queue to keep.
    `unplaceable` lists those among them that no shelter could ever take as things stand
    (`GROUP_EXCEEDS_LARGEST_SHELTER`): report them; they hold back nobody, and each drain
    checks them again, so a capacity increase lets them be placed in their turn.
    `home` and `alternate` are the states with every placement applied.
    """

    placed: tuple[PlacedGroup, ...]
    waiting: tuple[WaitingGroup, ...]
    unplaceable: tuple[WaitingGroup, ...]
    home: LocationState
    alternate: LocationState | None


def drain_queue(
    queue: Sequence[WaitingGroup],
    home: LocationState,
    alternate: LocationState | None,
    today: date,
    max_bypasses: int = MAX_BYPASSES,
) -> QueueOutcome:
    """Try the waiting groups of one location in arrival order, counting placements on `today`.

    Each placement is applied to the states before the next group is tried. Fairness:
    - The daily cap is strict first come, first served: once a group is deferred for the
      cap, nobody behind it is placed that day, though a smaller group would fit.
    - Beds may be passed, boundedly: a group that fits no shelter's free beds does not
      hold back smaller groups behind it, but each group placed past it adds one to its
      `bypassed`. Once it has been passed `max_bypasses` times, beds are kept for it: no
      group behind it is placed until it is.
    - A group larger than the whole cap, one set aside as unplaceable, or one waiting
      for a suspended location with no way to the alternate holds back nobody: it could
      not use the room it would hold.
    Call it after every event that could let a group in (arrival, status change, new beds,
    departure, new local day). With one alternate for two homes (MTY for NLD and MAM),
    drain one home, then the other with the alternate state the first returned.
    """
    placed: list[PlacedGroup] = []
    waiting: list[WaitingGroup] = []
    unplaceable: list[WaitingGroup] = []
    passable: list[int] = []  # positions in `waiting` of groups that later groups may pass
    held_by: DeferralReason | None = None  # set once nobody further back may be placed
    for group in queue:
        outcome = _attempt(group.request, home, alternate, today)
        if isinstance(outcome, _Refusal) and outcome.cause == "never":
            waiting.append(replace(group, reason=outcome.reason))
            unplaceable.append(waiting[-1])
        elif held_by is not None:
            reason = outcome.reason if isinstance(outcome, _Refusal) else held_by
            waiting.append(replace(group, reason=reason))
        elif isinstance(outcome, Placement):
            home, alternate = _applied(outcome, home, alternate, today)
            placed.append(PlacedGroup(group, outcome))
            held_by = _count_bypass(waiting, passable, max_bypasses)
        else:
            waiting.append(replace(group, reason=outcome.reason))
            if outcome.cause == "cap" or (
                outcome.cause == "beds" and group.bypassed >= max_bypasses
            ):
                held_by = outcome.reason
            elif outcome.cause == "beds":
                passable.append(len(waiting) - 1)
    return QueueOutcome(tuple(placed), tuple(waiting), tuple(unplaceable), home, alternate)


def _count_bypass(
    waiting: list[WaitingGroup], passable: list[int], max_bypasses: int
) -> DeferralReason | None:
    """Count one more pass for each group waiting for beds; a reason once beds are kept."""
    held_by: DeferralReason | None = None
    for position in passable:
        passed = replace(waiting[position], bypassed=waiting[position].bypassed + 1)
        waiting[position] = passed
        if held_by is None and passed.bypassed >= max_bypasses:
            held_by = passed.reason
    return held_by


def _applied(
    placement: Placement, home: LocationState, alternate: LocationState | None, today: date
) -> tuple[LocationState, LocationState | None]:
    if placement.location == home.code:
        return with_placement(home, placement.shelter_id, placement.beds, today), alternate
    assert alternate is not None  # _attempt only reroutes to the alternate it was given
    return home, with_placement(alternate, placement.shelter_id, placement.beds, today)
