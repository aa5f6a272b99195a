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

from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Literal, Protocol, TypeVar

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
    return _attempt_beds(request.beds, home, alternate, today)


def _attempt_beds(
    beds: int, home: LocationState, alternate: LocationState | None, today: date
) -> Placement | _Refusal:
    if alternate is not None and alternate.code != home.alternate:
        raise ValueError(f"{alternate.code} is not the alternate of {home.code}")
    if home.security_level != "suspended":
        return _attempt_at(home, beds, today)
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
    The writer runs the same rules through `drain_in_order`, on its own queue entries.
    """
    drained = drain_in_order(queue, home, alternate, today, max_bypasses=max_bypasses)
    placed_at = dict(drained.placed)
    waiting = tuple(
        replace(
            group,
            reason=drained.reasons.get(n, group.reason),
            bypassed=drained.bypassed.get(n, group.bypassed),
        )
        for n, group in enumerate(queue)
        if n not in placed_at
    )
    placed = tuple(PlacedGroup(queue[n], placement) for n, placement in drained.placed)
    unplaceable = tuple(w for w in waiting if w.reason == "GROUP_EXCEEDS_LARGEST_SHELTER")
    return QueueOutcome(placed, waiting, unplaceable, drained.home, drained.alternate)


class Queued(Protocol):
    """What the drain reads of a waiting group."""

    @property
    def beds(self) -> int: ...

    @property
    def reason(self) -> DeferralReason: ...

    @property
    def bypassed(self) -> int: ...


Q = TypeVar("Q", bound=Queued)


@dataclass(frozen=True)
class Settled:
    """What a drain that stopped placing left behind it, for the next drain to skip.

    Every group with `after < sequence <= upto` has the reason `reasons[its beds]`: once
    nobody further back may be placed, a group's reason depends only on its size and the
    (no longer changing) states. A later drain held by then, whose states give the same
    reasons for these sizes, leaves those groups exactly as they are, so it need not
    visit them. Kept in memory only; anything else that changes such a group drops it.
    """

    after: int
    upto: int
    reasons: Mapping[int, DeferralReason]


@dataclass(frozen=True)
class Drained:
    """The result of one `drain_in_order`, by position in the queue it was given.

    `placed`: (position, placement) in placement order. `reasons` and `bypassed`: the new
    reason or bypass count of each group not placed whose value changed. `home` and
    `alternate`: the states with every placement applied. `settled`: see `Settled`.
    """

    placed: tuple[tuple[int, Placement], ...]
    reasons: Mapping[int, DeferralReason]
    bypassed: Mapping[int, int]
    home: LocationState
    alternate: LocationState | None
    settled: Settled | None


def drain_in_order(
    queue: Sequence[Q],
    home: LocationState,
    alternate: LocationState | None,
    today: date,
    settled: Settled | None = None,
    sequence_of: Callable[[Q], int] | None = None,
    max_bypasses: int = MAX_BYPASSES,
) -> Drained:
    """The rules of `drain_queue`, touching only the groups whose reason or count changes.

    States change only when a group is placed, so between two placements an attempt's
    outcome depends on the group's size alone and is computed once per size. Once
    nobody further back may be placed, the groups of `settled` (whose positions
    `sequence_of` tells) are skipped when their reasons still hold.
    """
    drain = _Drain(queue, home, alternate, today, max_bypasses)
    n = 0
    while n < len(queue):
        if (
            settled is not None
            and sequence_of is not None
            and drain.held_by is not None
            and settled.after < sequence_of(queue[n]) <= settled.upto
        ):
            if drain.still_holds(settled):
                drain.carry(settled)
                n = bisect_right(queue, settled.upto, lo=n, key=sequence_of)
                continue
            settled = None
        drain.visit(n, queue[n])
        n += 1
    done = None
    held_at = drain.held_at
    if held_at is not None and sequence_of is not None and held_at < len(queue) - 1:
        after, upto = sequence_of(queue[held_at]), sequence_of(queue[-1])
        done = Settled(after, upto, drain.frozen_reasons())
    return Drained(
        tuple(drain.placed), drain.reasons, drain.bypassed, drain.home, drain.alternate, done
    )


class _Drain:
    """One drain in progress: the states so far and what changed, by position."""

    def __init__(
        self,
        queue: Sequence[Queued],
        home: LocationState,
        alternate: LocationState | None,
        today: date,
        max_bypasses: int,
    ) -> None:
        self.queue = queue
        self.home = home
        self.alternate = alternate
        self.today = today
        self.max_bypasses = max_bypasses
        self.placed: list[tuple[int, Placement]] = []
        self.reasons: dict[int, DeferralReason] = {}
        self.bypassed: dict[int, int] = {}
        self.passable: list[int] = []  # positions of groups that later groups may pass
        self.held_by: DeferralReason | None = None  # set once nobody further back is placed
        self.held_at: int | None = None
        self.carried: dict[int, DeferralReason] = {}
        self.sizes_behind: set[int] = set()
        self._outcomes: dict[int, Placement | _Refusal] = {}  # by size, until a placement

    def attempt(self, beds: int) -> Placement | _Refusal:
        outcome = self._outcomes.get(beds)
        if outcome is None:
            outcome = _attempt_beds(beds, self.home, self.alternate, self.today)
            self._outcomes[beds] = outcome
        return outcome

    def visit(self, n: int, group: Queued) -> None:
        outcome = self.attempt(group.beds)
        if isinstance(outcome, _Refusal) and outcome.cause == "never":
            if self.held_by is not None:
                self.sizes_behind.add(group.beds)
            self._reason(n, group, outcome.reason)
        elif self.held_by is not None:
            self.sizes_behind.add(group.beds)
            self._reason(
                n, group, outcome.reason if isinstance(outcome, _Refusal) else self.held_by
            )
        elif isinstance(outcome, Placement):
            self.home, self.alternate = _applied(outcome, self.home, self.alternate, self.today)
            self._outcomes = {}
            self.placed.append((n, outcome))
            self._count_bypass()
            if self.held_by is not None:
                self.held_at = n
        else:
            self._reason(n, group, outcome.reason)
            if outcome.cause == "cap" or (
                outcome.cause == "beds" and group.bypassed >= self.max_bypasses
            ):
                self.held_by, self.held_at = outcome.reason, n
            elif outcome.cause == "beds":
                self.passable.append(n)

    def _reason(self, n: int, group: Queued, reason: DeferralReason) -> None:
        if reason != group.reason:
            self.reasons[n] = reason
        else:
            self.reasons.pop(n, None)

    def _count_bypass(self) -> None:
        """Count one more pass for each group waiting for beds; hold once beds are kept."""
        for n in self.passable:
            count = self.bypassed.get(n, self.queue[n].bypassed) + 1
            self.bypassed[n] = count
            if self.held_by is None and count >= self.max_bypasses:
                self.held_by = self.reasons.get(n, self.queue[n].reason)

    def frozen(self, beds: int) -> DeferralReason:
        """The reason a group of `beds` gets from here on, nobody further back being placed."""
        outcome = self.attempt(beds)
        if isinstance(outcome, _Refusal):
            return outcome.reason
        assert self.held_by is not None  # only asked once the drain holds
        return self.held_by

    def still_holds(self, settled: Settled) -> bool:
        return all(self.frozen(beds) == r for beds, r in settled.reasons.items())

    def carry(self, settled: Settled) -> None:
        self.carried.update(settled.reasons)

    def frozen_reasons(self) -> dict[int, DeferralReason]:
        """The reason of each size of group behind the hold, visited or carried."""
        sizes = self.sizes_behind | set(self.carried)
        return {beds: self.frozen(beds) for beds in sorted(sizes)}


def _applied(
    placement: Placement, home: LocationState, alternate: LocationState | None, today: date
) -> tuple[LocationState, LocationState | None]:
    if placement.location == home.code:
        return with_placement(home, placement.shelter_id, placement.beds, today), alternate
    assert alternate is not None  # _attempt only reroutes to the alternate it was given
    return home, with_placement(alternate, placement.shelter_id, placement.beds, today)
