"""Properties of the placement policy over any sequence of arrivals, departures and changes."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from schemas.status import SecurityLevel
from services.placement.policy import (
    MAX_BYPASSES,
    Placement,
    QueueOutcome,
    drain_queue,
    place_group,
)
from services.placement.state import (
    LocationState,
    WaitingGroup,
    with_capacity,
    with_departure,
    with_status,
)
from tests.unit.placement.placement_factories import THANKSGIVING, group, location, shelter, waiting


@dataclass(frozen=True)
class Arrive:
    size: int


@dataclass(frozen=True)
class Depart:
    which: int  # any number: taken modulo the groups present


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


Op = Arrive | Depart | NextDay | StatusChange | CapacityChange

beds = st.integers(0, 40)
LEVELS: tuple[SecurityLevel, ...] = ("normal", "elevated", "suspended")
levels = st.sampled_from(LEVELS)
arrive = st.builds(Arrive, st.integers(1, 16))
depart = st.builds(Depart, st.integers(0, 1_000))
next_day = st.just(NextDay())
status = st.builds(StatusChange, st.sampled_from(["NLD", "MTY"]), levels, st.integers(0, 40))
capacity = st.builds(CapacityChange, st.sampled_from(["NLD-S01", "NLD-S02", "MTY-S01"]), beds)


@st.composite
def locations(draw: st.DrawFn) -> tuple[LocationState, LocationState]:
    """Nuevo Laredo (maybe suspended, with a children's shelter) and its alternate Monterrey."""
    home = location(
        "NLD",
        shelter("NLD-S01", free=draw(beds)),
        shelter("NLD-S02", free=draw(beds)),
        shelter("NLD-S09", free=draw(beds), serves="unaccompanied_children"),
        cap=draw(st.integers(0, 40)),
        level=draw(levels),
        alternate="MTY",
    )
    return home, location("MTY", shelter("MTY-S01", free=draw(beds)), cap=draw(st.integers(0, 40)))


@dataclass
class World:
    """The service's state, driven only through the pure policy and transitions."""

    home: LocationState
    alternate: LocationState
    today: date = THANKSGIVING
    queue: list[WaitingGroup] = field(default_factory=list)
    present: list[Placement] = field(default_factory=list)
    arrived: int = 0

    def apply(self, op: Op) -> QueueOutcome:
        """Apply one event, then drain the queue as the service would."""
        if isinstance(op, Arrive):
            self.arrived += 1
            request = group(f"G-2026-{self.arrived:06d}", op.size, crossing="LRD")
            self.queue.append(waiting(request, at="NLD"))
        elif isinstance(op, Depart) and self.present:
            gone = self.present.pop(op.which % len(self.present))
            self._change(gone.location, lambda s: with_departure(s, gone.shelter_id, gone.beds))
        elif isinstance(op, NextDay):
            self.today += timedelta(days=1)
        elif isinstance(op, StatusChange):
            self._change(op.code, lambda s: with_status(s, op.level, op.cap))
        elif isinstance(op, CapacityChange):
            self._change(op.shelter_id[:3], lambda s: with_capacity(s, op.shelter_id, op.beds))
        outcome = drain_queue(self.queue, self.home, self.alternate, self.today)
        assert outcome.alternate is not None
        self.home, self.alternate = outcome.home, outcome.alternate
        self.queue = list(outcome.waiting)
        self.present += [p.placement for p in outcome.placed]
        return outcome

    def _change(self, code: str, change: Callable[[LocationState], LocationState]) -> None:
        if code == self.home.code:
            self.home = change(self.home)
        else:
            self.alternate = change(self.alternate)


@given(locations(), st.lists(st.one_of(arrive, depart, next_day), max_size=40))
def test_places_and_departures_never_overfill_a_shelter_or_pass_a_cap(
    states: tuple[LocationState, LocationState], ops: list[Op]
) -> None:
    world = World(*states)
    for op in ops:
        world.apply(op)
        for state in (world.home, world.alternate):
            assert all(0 <= s.occupied <= s.beds for s in state.shelters.values())
            assert all(n <= state.daily_cap for n in state.placements_by_date.values())
        assert world.home.shelters["NLD-S09"].occupied == 0  # the children's shelter


@given(
    locations(),
    st.lists(st.one_of(arrive, depart, next_day, status, capacity), max_size=40),
)
def test_every_placement_respects_the_state_it_was_made_in(
    states: tuple[LocationState, LocationState], ops: list[Op]
) -> None:
    world = World(*states)
    for op in ops:
        before = [w.request.group_id for w in world.queue]
        outcome = world.apply(op)
        tried = before + ([f"G-2026-{world.arrived:06d}"] if isinstance(op, Arrive) else [])
        placed = [p.group.request.group_id for p in outcome.placed]
        kept = [w.request.group_id for w in outcome.waiting]
        assert sorted(placed + kept) == sorted(tried)  # nobody lost, nobody twice
        assert kept == [g for g in tried if g not in placed]  # arrival order is kept
        for p in outcome.placed:
            state = world.home if p.placement.location == "NLD" else world.alternate
            room = state.shelters[p.placement.shelter_id]
            assert room.occupied <= room.beds
            assert room.takes_families_and_adults
            assert state.placements_on(world.today) <= state.daily_cap
            assert (p.placement.location == "MTY") == p.placement.transport_required
        assert all(w.bypassed <= MAX_BYPASSES for w in world.queue)


@given(locations(), st.integers(1, 16), st.randoms(use_true_random=False))
def test_placement_does_not_depend_on_the_order_shelters_are_listed(
    states: tuple[LocationState, LocationState], size: int, rng: random.Random
) -> None:
    home, alternate = states
    shuffled = list(home.shelters.items())
    rng.shuffle(shuffled)
    reordered = LocationState(
        home.code,
        home.security_level,
        home.daily_cap,
        home.placements_by_date,
        dict(shuffled),
        home.alternate,
    )
    request = group("G-2026-000777", size, crossing="LRD")
    first = place_group(request, home, alternate, THANKSGIVING)
    assert place_group(request, home, alternate, THANKSGIVING) == first
    assert place_group(request, reordered, alternate, THANKSGIVING) == first


@given(locations(), st.lists(st.integers(1, 16), max_size=12))
def test_draining_the_same_queue_twice_gives_the_same_outcome(
    states: tuple[LocationState, LocationState], sizes: list[int]
) -> None:
    home, alternate = states
    queue = [waiting(group(f"G-2026-{n:06d}", size), at="NLD") for n, size in enumerate(sizes)]
    first = drain_queue(queue, home, alternate, THANKSGIVING)
    assert drain_queue(queue, home, alternate, THANKSGIVING) == first
    order = [w.request.group_id for w in queue]
    placed = [p.group.request.group_id for p in first.placed]
    assert placed == sorted(placed, key=order.index)  # placed in arrival order


@given(st.integers(2, 16), st.lists(st.integers(1, 4), max_size=12), st.integers(0, 15))
def test_a_group_waiting_for_beds_is_passed_at_most_max_bypasses_times(
    head_size: int, sizes_behind: list[int], free: int
) -> None:
    juarez = location("CJS", shelter("CJS-S01", free=free, beds=180), cap=1_000)
    head = waiting(group("G-2026-000001", head_size))
    behind = [waiting(group(f"G-2026-{n:06d}", size)) for n, size in enumerate(sizes_behind, 2)]
    outcome = drain_queue([head, *behind], juarez, None, THANKSGIVING)
    if head_size <= free:
        assert outcome.placed[0].group == head
    else:
        assert len(outcome.placed) <= MAX_BYPASSES
        assert outcome.waiting[0].bypassed == len(outcome.placed)
