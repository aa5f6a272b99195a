"""A placement stand-in for synthetic histories: the pure policy, driven as the service drives it.

Used by `synthetic` to write the `placed` and `placement-deferred` events of a generated
history (tests and the replay benchmark), never by the audit itself. It follows the
placement service's conventions: a group arriving where others wait joins the queue,
queues are drained after every status change, new beds, departure and new local day,
each waiting group's reason is announced once per reason, and the event ids are
`event_id_for("placed", screened_id)` and
`event_id_for("placement-deferred", screened_id, reason)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from schemas.decisions import PlacementDeferred
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.status import SecurityLevel
from services.placement.events import placed_event
from services.placement.policy import Placement, drain_queue, place_group
from services.placement.state import (
    GroupRequest,
    LocationState,
    WaitingGroup,
    initial_states,
    local_date,
    with_capacity,
    with_departure,
    with_placement,
    with_status,
)
from services.reference import Reference

PRODUCER = "placement-sim/0.1.0"


@dataclass(frozen=True)
class Given:
    """Where a placed group sleeps."""

    request: GroupRequest
    location: str
    shelter_id: str


@dataclass
class PlacementSimulator:
    """Placement state, queues and what was given, changed by one call per input event."""

    reference: Reference
    states: dict[str, LocationState] = field(init=False)
    queues: dict[str, list[WaitingGroup]] = field(default_factory=dict)
    reported: dict[str, set[str]] = field(default_factory=dict)
    drained_on: dict[str, date] = field(default_factory=dict)
    given: dict[str, Given] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.states = initial_states(self.reference)

    def accept(self, request: GroupRequest, now: datetime) -> list[Envelope[Any]]:
        """An accepted group arrives: place it, or queue it."""
        home = self.reference.location_for_crossing(request.crossing).code
        if self.queues.get(home):
            self.queues[home].append(WaitingGroup(request, home, now, "NO_SHELTER_CAPACITY"))
            return self._drain([home], now)
        state, alternate = self._pair(home)
        outcome = place_group(request, state, alternate, local_date(request.returned_at))
        if isinstance(outcome, Placement):
            self._apply(outcome, request, local_date(request.returned_at))
            return [self._placed(request, outcome, None, now)]
        self.queues.setdefault(home, []).append(WaitingGroup(request, home, now, outcome.reason))
        self.drained_on[home] = local_date(now, offset_of=request.returned_at)
        return self._announce(now)

    def status(
        self, location: str, level: SecurityLevel, cap: int, now: datetime
    ) -> list[Envelope[Any]]:
        self.states[location] = with_status(self.states[location], level, cap)
        return self._drain(list(self.queues), now)

    def capacity(
        self, location: str, shelter_id: str, beds: int, now: datetime
    ) -> list[Envelope[Any]]:
        self.states[location] = with_capacity(self.states[location], shelter_id, beds)
        return self._drain(list(self.queues), now)

    def departure(self, group_id: str, now: datetime) -> list[Envelope[Any]]:
        given = self.given.pop(group_id)
        state = self.states[given.location]
        self.states[given.location] = with_departure(state, given.shelter_id, given.request.beds)
        return self._drain(list(self.queues), now)

    def new_day(self, now: datetime) -> list[Envelope[Any]]:
        """The wall-clock tick: drain queues whose local date changed since their last retry."""
        due = [
            code
            for code, queue in self.queues.items()
            if queue
            and self.drained_on.get(code) != local_date(now, offset_of=queue[0].request.returned_at)
        ]
        return self._drain(due, now)

    def _pair(self, home: str) -> tuple[LocationState, LocationState | None]:
        state = self.states[home]
        return state, None if state.alternate is None else self.states[state.alternate]

    def _drain(self, codes: list[str], now: datetime) -> list[Envelope[Any]]:
        out: list[Envelope[Any]] = []
        pending = [code for code in codes if self.queues.get(code)]
        for code in sorted(pending, key=lambda c: (self.queues[c][0].deferred_since, c)):
            queue = self.queues[code]
            today = local_date(now, offset_of=queue[0].request.returned_at)
            home, alternate = self._pair(code)
            outcome = drain_queue(queue, home, alternate, today)
            self.states[code] = outcome.home
            if outcome.alternate is not None:
                self.states[outcome.alternate.code] = outcome.alternate
            self.queues[code] = list(outcome.waiting)
            self.drained_on[code] = today
            for placed in outcome.placed:
                request = placed.group.request
                self.given[request.group_id] = Given(
                    request, placed.placement.location, placed.placement.shelter_id
                )
                out.append(self._placed(request, placed.placement, placed.group, now))
        return out + self._announce(now)

    def _apply(self, placement: Placement, request: GroupRequest, day: date) -> None:
        state = self.states[placement.location]
        self.states[placement.location] = with_placement(
            state, placement.shelter_id, placement.beds, day
        )
        self.given[request.group_id] = Given(request, placement.location, placement.shelter_id)

    def _announce(self, now: datetime) -> list[Envelope[Any]]:
        out: list[Envelope[Any]] = []
        for queue in self.queues.values():
            for position, group in enumerate(queue, start=1):
                said = self.reported.setdefault(group.request.group_id, set())
                if group.reason not in said:
                    said.add(group.reason)
                    out.append(_deferred(group, position, now))
        return out

    def _placed(
        self,
        request: GroupRequest,
        placement: Placement,
        waited: WaitingGroup | None,
        now: datetime,
    ) -> Envelope[Any]:
        deferred_since = waited.deferred_since if waited else None
        return placed_event(request, placement, deferred_since, PRODUCER, now)


def _deferred(group: WaitingGroup, position: int, now: datetime) -> Envelope[Any]:
    request = group.request
    data = PlacementDeferred(
        group_id=request.group_id,
        location=group.location,
        reason=group.reason,
        deferred_since=group.deferred_since,
        beds=request.beds,
        members=list(request.members),
        queue_position=position,
    )
    return make_envelope(
        data,
        event_id=event_id_for("placement-deferred", request.screened_event_id, group.reason),
        producer=PRODUCER,
        correlation_id=request.group_id,
        causation_id=request.screened_event_id,
        crossing=request.crossing,
        occurred_at=now,
    )
