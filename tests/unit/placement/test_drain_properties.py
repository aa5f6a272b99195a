"""The writer's drain (`drain_in_order`, skipping what it settled) against the reference rules.

`reference_drain` is the queue drain as it was written before the writer kept its
queues in memory: every group visited, every reason rewritten. Over any sequence of
arrivals, departures, new days, status and capacity changes, groups that change size or
leave, the writer's drain must place the same groups in the same shelters and leave
every waiting group with the same reason and bypass count.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.decisions import DeferralReason
from schemas.status import SecurityLevel
from services.placement.policy import (
    MAX_BYPASSES,
    Placement,
    Settled,
    _applied,
    _attempt_beds,
    drain_in_order,
)
from services.placement.state import (
    LocationState,
    with_capacity,
    with_departure,
    with_status,
)
from tests.unit.placement.placement_factories import THANKSGIVING, location, shelter


@dataclass(frozen=True)
class Item:
    """A waiting group as the drain reads it."""

    beds: int
    sequence: int
    reason: DeferralReason = "NO_SHELTER_CAPACITY"
    bypassed: int = 0


def reference_drain(
    queue: Sequence[Item], home: LocationState, alternate: LocationState | None, today: date
) -> tuple[list[tuple[int, Placement]], list[Item], LocationState, LocationState | None]:
    """The drain as first written: every group tried in order, every reason rewritten."""
    placed: list[tuple[int, Placement]] = []
    waiting: list[Item] = []
    passable: list[int] = []
    held_by: DeferralReason | None = None
    for n, group in enumerate(queue):
        outcome = _attempt_beds(group.beds, home, alternate, today)
        if not isinstance(outcome, Placement) and outcome.cause == "never":
            waiting.append(replace(group, reason=outcome.reason))
        elif held_by is not None:
            reason = outcome.reason if not isinstance(outcome, Placement) else held_by
            waiting.append(replace(group, reason=reason))
        elif isinstance(outcome, Placement):
            home, alternate = _applied(outcome, home, alternate, today)
            placed.append((n, outcome))
            for position in passable:
                waiting[position] = replace(
                    waiting[position], bypassed=waiting[position].bypassed + 1
                )
                if held_by is None and waiting[position].bypassed >= MAX_BYPASSES:
                    held_by = waiting[position].reason
        else:
            waiting.append(replace(group, reason=outcome.reason))
            if outcome.cause == "cap" or (
                outcome.cause == "beds" and group.bypassed >= MAX_BYPASSES
            ):
                held_by = outcome.reason
            elif outcome.cause == "beds":
                passable.append(len(waiting) - 1)
    return placed, waiting, home, alternate


@dataclass(frozen=True)
class Arrive:
    size: int


@dataclass(frozen=True)
class Depart:
    which: int


@dataclass(frozen=True)
class Resize:
    which: int
    size: int


@dataclass(frozen=True)
class Leave:
    which: int


@dataclass(frozen=True)
class NextDay:
    pass


@dataclass(frozen=True)
class StatusChange:
    code: str
    level: SecurityLevel
    cap: int


@dataclass(frozen=True)
class CapacityChange:
    shelter_id: str
    beds: int


Op = Arrive | Depart | Resize | Leave | NextDay | StatusChange | CapacityChange
LEVELS: tuple[SecurityLevel, ...] = ("normal", "elevated", "suspended")
ops = st.one_of(
    st.builds(Arrive, st.integers(1, 8)),
    st.builds(Arrive, st.integers(1, 3)),
    st.builds(Depart, st.integers(0, 1_000)),
    st.builds(Resize, st.integers(0, 1_000), st.integers(1, 8)),
    st.builds(Leave, st.integers(0, 1_000)),
    st.just(NextDay()),
    st.builds(
        StatusChange, st.sampled_from(["NLD", "MTY"]), st.sampled_from(LEVELS), st.integers(0, 12)
    ),
    st.builds(
        CapacityChange, st.sampled_from(["NLD-S01", "NLD-S02", "MTY-S01"]), st.integers(0, 9)
    ),
)


@st.composite
def worlds(draw: st.DrawFn) -> tuple[LocationState, LocationState]:
    small = st.integers(0, 9)
    home = location(
        "NLD",
        shelter("NLD-S01", free=draw(small)),
        shelter("NLD-S02", free=draw(small)),
        shelter("NLD-S09", free=draw(small), serves="unaccompanied_children"),
        cap=draw(st.integers(0, 12)),
        level=draw(st.sampled_from(LEVELS)),
        alternate="MTY",
    )
    return home, location("MTY", shelter("MTY-S01", free=draw(small)), cap=draw(small))


@dataclass
class Twins:
    """The same world drained by the reference rules and by the writer's drain."""

    home: LocationState
    alternate: LocationState
    today: date = THANKSGIVING
    queue: list[Item] = field(default_factory=list)
    settled: Settled | None = None
    present: list[Placement] = field(default_factory=list)
    arrived: int = 0

    def apply(self, op: Op) -> None:
        if isinstance(op, Arrive):
            self.queue.append(Item(op.size, self.arrived))
            self.arrived += 1
        elif isinstance(op, Resize | Leave) and self.queue:
            n = op.which % len(self.queue)
            if isinstance(op, Resize):
                self.queue[n] = replace(self.queue[n], beds=op.size)
                self.settled = None  # as the writer does when a waiting group changes
            else:
                del self.queue[n]
        elif isinstance(op, Depart) and self.present:
            gone = self.present.pop(op.which % len(self.present))
            self._change(gone.location, lambda s: with_departure(s, gone.shelter_id, gone.beds))
        elif isinstance(op, NextDay):
            self.today += timedelta(days=1)
        elif isinstance(op, StatusChange):
            self._change(op.code, lambda s: with_status(s, op.level, op.cap))
        elif isinstance(op, CapacityChange):
            self._change(op.shelter_id[:3], lambda s: with_capacity(s, op.shelter_id, op.beds))
        self._drain()

    def _drain(self) -> None:
        placed, waiting, home, alternate = reference_drain(
            self.queue, self.home, self.alternate, self.today
        )
        drained = drain_in_order(
            self.queue,
            self.home,
            self.alternate,
            self.today,
            self.settled,
            lambda item: item.sequence,
        )
        assert list(drained.placed) == placed
        assert (drained.home, drained.alternate) == (home, alternate)
        placed_at = {n for n, _ in drained.placed}
        kept = [
            replace(
                item,
                reason=drained.reasons.get(n, item.reason),
                bypassed=drained.bypassed.get(n, item.bypassed),
            )
            for n, item in enumerate(self.queue)
            if n not in placed_at
        ]
        assert kept == waiting
        assert alternate is not None
        self.queue, self.settled = kept, drained.settled
        self.home, self.alternate = home, alternate
        self.present += [placement for _, placement in placed]

    def _change(self, code: str, change: Callable[[LocationState], LocationState]) -> None:
        if code == self.home.code:
            self.home = change(self.home)
        else:
            self.alternate = change(self.alternate)


@settings(max_examples=400, deadline=None)
@given(worlds(), st.lists(ops, max_size=60))
def test_the_writers_drain_places_and_defers_exactly_as_the_reference_rules(
    states: tuple[LocationState, LocationState], sequence: list[Op]
) -> None:
    twins = Twins(*states)
    for op in sequence:
        twins.apply(op)


@dataclass(frozen=True)
class Counted:
    """A waiting group that counts how often the drain reads its size."""

    size: int
    sequence: int
    reason: DeferralReason
    reads: list[int]
    bypassed: int = 0

    @property
    def beds(self) -> int:
        self.reads.append(self.sequence)
        return self.size


def test_a_queue_held_by_the_cap_is_not_read_again_behind_its_head() -> None:
    reads: list[int] = []
    juarez = location("CJS", shelter("CJS-S01", free=500), cap=30, received={THANKSGIVING: 29})
    queue = [Counted(2 + n % 3, n, "DAILY_CAP_REACHED", reads) for n in range(10_000)]
    first = drain_in_order(queue, juarez, None, THANKSGIVING, None, lambda c: c.sequence)
    assert first.placed == ()
    assert first.reasons == {}
    assert len(set(reads)) == 10_000  # the first drain reads everybody
    reads.clear()
    queue.append(Counted(1, 10_000, "NO_SHELTER_CAPACITY", reads))  # a new arrival
    second = drain_in_order(queue, juarez, None, THANKSGIVING, first.settled, lambda c: c.sequence)
    assert second.placed == ()
    assert second.reasons == {10_000: "DAILY_CAP_REACHED"}  # the arrival waits behind the head
    assert sorted(set(reads)) == [0, 10_000]  # the head and the arrival, nobody between
