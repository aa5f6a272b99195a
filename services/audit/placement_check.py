"""Re-checking every placement decision against the state replayed from the log.

The state is rebuilt exactly as the placement service builds it: seeded from the
reference data (`initial_states`), then `location-status-changed`, `capacity-updated`
and `shelter-departed` applied in log order (a status or capacity older than the one in
force is ignored, as is a departure of a group not placed at that shelter), and each
recorded `placed` applied as it comes. Before a `placed` event is applied, it is checked
against that state:

- the group was accepted, and is placed whole, once, at its crossing's designated
  location, or rerouted with transport to its alternate while that was suspended;
- the invariants: the location is not suspended, the day's placements plus the group
  stay within the daily cap, the shelter has the free beds (and takes families and
  adults);
- the choice: a first attempt (`deferred_since` null) must be exactly what
  `policy.place_group` decides from this state, and must not pass groups waiting at the
  location; a group placed from the queue must go to the shelter with the most free
  beds. A first `placement-deferred` is re-derived the same way.

Not re-derived: which waiting group a drain serves first (the bypass bound) and when
a new local day let the queue move; see docs/adr/0007-audit-replay.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from schemas.decisions import Placed, PlacementDeferred, Screened
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from services.audit import findings
from services.audit.events import Logged
from services.audit.findings import Mismatch
from services.placement.policy import Placement, place_group, shelter_with_most_free_beds
from services.placement.state import (
    GroupRequest,
    LocationState,
    initial_states,
    local_date,
    with_capacity,
    with_departure,
    with_placement,
    with_status,
)
from services.reference import Reference

Difference = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Given:
    location: str
    shelter_id: str
    beds: int


class PlacementAuditor:
    """Feed it the placement inputs and outputs in log order; it collects mismatches."""

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self.states: dict[str, LocationState] = initial_states(reference)
        self.mismatches: list[Mismatch] = []
        self._status_in_force: dict[str, datetime] = {}
        self._capacity_in_force: dict[str, datetime] = {}
        self._accepted: dict[str, GroupRequest] = {}
        self._given: dict[str, _Given] = {}
        self._departed: set[str] = set()
        self._queues: dict[str, list[str]] = {}
        self._handlers = {
            "screened": self._screened,
            "location-status-changed": self._status,
            "capacity-updated": self._capacity,
            "shelter-departed": self._departure,
            "placement-deferred": self._deferred,
            "placed": self._placed,
        }

    def on_event(self, event: Logged) -> None:
        """Apply or check one event (others are ignored)."""
        handler = self._handlers.get(event.topic)
        if handler is not None:
            handler(event)

    def waiting(self) -> dict[str, list[str]]:
        """Groups still waiting, per location, in arrival order."""
        return {code: list(queue) for code, queue in self._queues.items() if queue}

    def _screened(self, event: Logged) -> None:
        data = cast(Screened, event.data)
        crossing = event.envelope.crossing
        if data.decision != "accepted" or data.decided_after is not None or not data.members:
            return
        if crossing not in self.reference.crossing_codes or data.returned_at is None:
            return
        members = tuple(member.case_id for member in data.members)
        self._accepted[data.group_id] = GroupRequest(
            data.group_id, crossing, members, len(members), data.returned_at, event.event_id
        )

    def _status(self, event: Logged) -> None:
        data = cast(LocationStatusChanged, event.data)
        in_force = self._status_in_force.get(data.location)
        if data.location not in self.states or (in_force and data.effective_at < in_force):
            return
        self._status_in_force[data.location] = data.effective_at
        state = self.states[data.location]
        self.states[data.location] = with_status(state, data.security_level, data.daily_cap)

    def _capacity(self, event: Logged) -> None:
        data = cast(CapacityUpdated, event.data)
        state = self.states.get(data.location)
        in_force = self._capacity_in_force.get(data.shelter_id)
        if state is None or data.shelter_id not in state.shelters:
            return
        if in_force is not None and data.effective_at < in_force:
            return
        self._capacity_in_force[data.shelter_id] = data.effective_at
        self.states[data.location] = with_capacity(state, data.shelter_id, data.beds)

    def _departure(self, event: Logged) -> None:
        data = cast(ShelterDeparted, event.data)
        given = self._given.get(data.group_id)
        if given is None or data.group_id in self._departed:
            return
        if (given.location, given.shelter_id) != (data.location, data.shelter_id):
            return
        self._departed.add(data.group_id)
        state = self.states[given.location]
        self.states[given.location] = with_departure(state, given.shelter_id, given.beds)

    def _deferred(self, event: Logged) -> None:
        data = cast(PlacementDeferred, event.data)
        request = self._accepted.get(data.group_id)
        if data.group_id in self._given:
            return  # a deferral announced as the group was being placed
        if request is None:
            self._report(event, findings.DEFERRED_WITHOUT_ACCEPTANCE, "no accepted screened event")
            return
        home = self.reference.location_for_crossing(request.crossing).code
        queue = self._queues.setdefault(home, [])
        if data.group_id in queue:
            return
        if data.location != home:
            self._report(event, findings.WRONG_LOCATION, f"deferred at {data.location}, not {home}")
        elif not queue:
            outcome = place_group(request, *self._home_and_alternate(home), _first_day(request))
            if isinstance(outcome, Placement):
                where = f"{outcome.location}/{outcome.shelter_id}"
                detail = f"recorded deferred ({data.reason}), the policy places it at {where}"
                self._report(event, findings.PLACEMENT_OUTCOME_DIFFERS, detail)
            elif outcome.reason != data.reason:
                detail = f"recorded deferred ({data.reason}), the policy defers ({outcome.reason})"
                self._report(event, findings.PLACEMENT_OUTCOME_DIFFERS, detail)
        queue.append(data.group_id)

    def _placed(self, event: Logged) -> None:
        data = cast(Placed, event.data)
        state = self.states.get(data.location)
        request = self._accepted.get(data.group_id)
        if data.group_id in self._given:
            self._report(event, findings.GROUP_PLACED_TWICE, "the group was already placed")
            return
        if state is None:
            self._report(event, findings.WRONG_LOCATION, f"{data.location} is not a location")
            return
        if request is None:
            self._report(event, findings.PLACED_WITHOUT_ACCEPTANCE, "no accepted screened event")
            at = data.returned_at or event.occurred_at
            differences = _invariants(state, data, local_date(at))
        else:
            differences = self._checked(event, data, request, state)
        for category, detail in differences:
            self._report(event, category, detail)
        self._apply(data, event)

    def _checked(
        self, event: Logged, data: Placed, request: GroupRequest, state: LocationState
    ) -> list[Difference]:
        home = self.reference.location_for_crossing(request.crossing).code
        day = self._counting_day(event, data, request, home)
        found = _members(data, request) + self._location(data, home)
        found += _invariants(state, data, day)
        if found:
            return found
        if data.deferred_since is None:
            return self._first_attempt(data, request, home, day)
        best = shelter_with_most_free_beds(state, data.beds)
        if best is not None and best.shelter_id != data.shelter_id:
            detail = f"recorded {data.shelter_id}, most free beds at {best.shelter_id}"
            return [(findings.SHELTER_CHOICE_DIFFERS, detail)]
        return []

    def _first_attempt(
        self, data: Placed, request: GroupRequest, home: str, day: date
    ) -> list[Difference]:
        waiting = [g for g in self._queues.get(home, []) if g != data.group_id]
        if waiting:
            detail = f"placed at its first attempt while {len(waiting)} group(s) waited at {home}"
            return [(findings.PLACEMENT_OUTCOME_DIFFERS, detail)]
        outcome = place_group(request, *self._home_and_alternate(home), day)
        recorded = f"{data.location}/{data.shelter_id}"
        if not isinstance(outcome, Placement):
            detail = f"recorded placed at {recorded}, the policy defers ({outcome.reason})"
            return [(findings.PLACEMENT_OUTCOME_DIFFERS, detail)]
        expected = (outcome.location, outcome.shelter_id, outcome.rerouted_from)
        if expected != (data.location, data.shelter_id, data.rerouted_from):
            where = f"{outcome.location}/{outcome.shelter_id}"
            detail = f"recorded placed at {recorded}, the policy places it at {where}"
            return [(findings.PLACEMENT_OUTCOME_DIFFERS, detail)]
        return []

    def _location(self, data: Placed, home: str) -> list[Difference]:
        if data.rerouted_from is None:
            if data.location == home:
                return []
            return [(findings.WRONG_LOCATION, f"placed at {data.location}, designated {home}")]
        alternate = self.states[home].alternate
        if (data.rerouted_from, data.location) != (home, alternate):
            route = f"rerouted from {data.rerouted_from} to {data.location}"
            detail = f"{route}; {home}'s alternate is {alternate}"
            return [(findings.WRONG_LOCATION, detail)]
        found = []
        if self.states[home].security_level != "suspended":
            found.append((findings.WRONG_LOCATION, f"rerouted while {home} was not suspended"))
        if not data.transport_required:
            found.append((findings.WRONG_LOCATION, "rerouted without transport"))
        return found

    def _counting_day(self, event: Logged, data: Placed, request: GroupRequest, home: str) -> date:
        """The local date the placement counts against, as the placement service counts it."""
        if data.deferred_since is None:
            return _first_day(request)
        queue = [g for g in self._queues.get(home, []) if g in self._accepted]
        head = self._accepted[queue[0]] if queue else request
        return local_date(event.occurred_at, offset_of=head.returned_at)

    def _home_and_alternate(self, home: str) -> tuple[LocationState, LocationState | None]:
        state = self.states[home]
        return state, None if state.alternate is None else self.states[state.alternate]

    def _apply(self, data: Placed, event: Logged) -> None:
        request = self._accepted.get(data.group_id)
        state = self.states[data.location]
        if data.shelter_id not in state.shelters:
            return
        if request is None:
            day = local_date(data.returned_at or event.occurred_at)
        else:
            home = self.reference.location_for_crossing(request.crossing).code
            day = self._counting_day(event, data, request, home)
            if data.group_id in self._queues.get(home, []):
                self._queues[home].remove(data.group_id)
            del self._accepted[data.group_id]  # placed: only `_given` is needed from now on
        self.states[data.location] = with_placement(state, data.shelter_id, data.beds, day)
        self._given[data.group_id] = _Given(data.location, data.shelter_id, data.beds)

    def _report(self, event: Logged, category: str, detail: str) -> None:
        group = getattr(event.data, "group_id", None)
        self.mismatches.append(Mismatch(category, detail, group, event.where))


def _first_day(request: GroupRequest) -> date:
    return local_date(request.returned_at)


def _members(data: Placed, request: GroupRequest) -> list[Difference]:
    if sorted(data.members) == sorted(request.members) and data.beds == len(request.members):
        return []
    detail = (
        f"placed {sorted(data.members)} in {data.beds} bed(s); accepted {sorted(request.members)}"
    )
    return [(findings.PLACEMENT_MEMBERS_DIFFER, detail)]


def _invariants(state: LocationState, data: Placed, day: date) -> list[Difference]:
    found: list[Difference] = []
    if state.security_level == "suspended":
        found.append((findings.SUSPENDED_LOCATION, f"{state.code} was suspended"))
    already = state.placements_on(day)
    if already + data.beds > state.daily_cap:
        detail = f"{state.code} on {day}: {already} placed + {data.beds} > cap {state.daily_cap}"
        found.append((findings.OVER_DAILY_CAP, detail))
    shelter = state.shelters.get(data.shelter_id)
    if shelter is None:
        detail = f"{data.shelter_id} is not a shelter at {state.code}"
        found.append((findings.SHELTER_NOT_USABLE, detail))
    elif not shelter.takes_families_and_adults:
        detail = f"{data.shelter_id} is a shelter for unaccompanied children"
        found.append((findings.SHELTER_NOT_USABLE, detail))
    elif shelter.free < data.beds:
        detail = f"{data.shelter_id}: {shelter.free} free of {shelter.beds}, {data.beds} placed"
        found.append((findings.OVER_SHELTER_BEDS, detail))
    return found
