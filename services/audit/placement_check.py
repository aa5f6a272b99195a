"""Re-checking every placement decision against the state replayed from the log.

The state is rebuilt exactly as the placement service builds it, through the same fold
(`services.placement.fold.evolve`): seeded from the reference data (`initial_states`),
then `location-status-changed`, `capacity-updated` and `shelter-departed` applied in log
order (a status or capacity older than the one in force is ignored, as is a departure of
a group not placed at that shelter), and each recorded `placed` applied as it comes.
Before a `placed` event is applied, it is checked against that state:

- the group was accepted, and is placed whole, once, at its crossing's designated
  location, or rerouted with transport to its alternate while that was suspended;
- the invariants: the location is not suspended, the day's placements plus the group
  stay within the daily cap, the shelter has the free beds (and takes families and
  adults);
- the choice: a first attempt (`deferred_since` null) must be exactly what
  `policy.place_group` decides from this state, and must not pass groups waiting at the
  location; a group placed from the queue must go to the shelter with the most free
  beds. A first `placement-deferred` is re-derived the same way.

Placement follows each group's live decision (the last `screened` of its chain): a
`placement-withdrawn` must end a live placement or wait, for a decision of the group
that calls for it (`NO_LONGER_ACCEPTED`: not accepted; `GROUP_CHANGED`: accepted with
other members), and frees the beds as the writer frees them (`GROUP_CHANGED` gives the
day's count back too). A group never has two live placements, and a placement (or a
wait) that its group's live decision no longer bears out must be withdrawn: `findings`
reports those still standing at the end of the log, or pending within the grace.

Each `placed` and `placement-deferred` is judged against the decision it names
(`causation_id`), the one placement acted on, not against the group's latest decision in
log order: placement may act on a decision after a re-decision of the group is already
on the log (a backlog after a broker restart), and handles the re-decision next. A
placement or wait left standing on a decision no longer live is then noted, like one
that a new decision calls to be withdrawn.

Not re-derived: which waiting group a drain serves first (the bypass bound) and when
a new local day let the queue move; see docs/adr/0007-audit-replay.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import cast

from schemas.decisions import Placed, PlacementDeferred, PlacementWithdrawn, Screened
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from services.audit import findings
from services.audit.events import Logged
from services.audit.findings import Mismatch, Pending
from services.placement.fold import (
    BedsSet,
    Change,
    Left,
    Received,
    StatusSet,
    TakenBack,
    evolve,
)
from services.placement.policy import Placement, place_group, shelter_with_most_free_beds
from services.placement.state import GroupRequest, LocationState, initial_states, local_date
from services.reference import Reference

Difference = tuple[str, str]

WITHDRAWAL_NOT_BORNE_OUT = "placement withdrawal not borne out"
NOT_THE_LIVE_DECISION = "placement does not follow the live decision"


@dataclass(frozen=True, slots=True)
class _Given:
    """A live placement: where, how many beds, counted on which day, for whom."""

    location: str
    shelter_id: str
    beds: int
    day: date
    members: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Decision:
    accepted: bool
    members: frozenset[str]


class PlacementAuditor:
    """Feed it the placement inputs and outputs in log order; it collects mismatches."""

    def __init__(self, reference: Reference) -> None:
        self.reference = reference
        self.states: dict[str, LocationState] = initial_states(reference)
        self.mismatches: list[Mismatch] = []
        self._accepted: dict[str, GroupRequest] = {}  # group -> its latest accepted request
        self._requests: dict[str, GroupRequest] = {}  # accepted screened event id -> request
        self._queued: dict[str, GroupRequest] = {}  # waiting group -> request it waits with
        self._live: dict[str, Logged] = {}  # group -> its live decision
        self._decisions: dict[str, dict[str, _Decision]] = {}
        self._given: dict[str, _Given] = {}  # live placements
        self._departed: set[str] = set()
        self._queues: dict[str, list[str]] = {}
        self._unfollowed: dict[str, Logged] = {}  # group -> the decision not followed yet
        self._handlers = {
            "screened": self._screened,
            "location-status-changed": self._status,
            "capacity-updated": self._capacity,
            "shelter-departed": self._departure,
            "placement-deferred": self._deferred,
            "placed": self._placed,
            "placement-withdrawn": self._withdrawn,
        }

    def on_event(self, event: Logged) -> None:
        """Apply or check one event (others are ignored)."""
        handler = self._handlers.get(event.topic)
        if handler is not None:
            handler(event)

    def waiting(self) -> dict[str, list[str]]:
        """Groups still waiting, per location, in arrival order."""
        return {code: list(queue) for code, queue in self._queues.items() if queue}

    def findings(self, as_of: datetime, grace: timedelta) -> list[Mismatch | Pending]:
        """Placements and waits their group's live decision no longer bears out, at the end."""
        found: list[Mismatch | Pending] = []
        for group, decision in self._unfollowed.items():
            detail = f"still {self._held(group)} after decision {decision.event_id}"
            if decision.occurred_at + grace <= as_of:
                found.append(Mismatch(NOT_THE_LIVE_DECISION, detail, group, decision.where))
            else:
                found.append(Pending(NOT_THE_LIVE_DECISION, group, detail))
        return found

    def _screened(self, event: Logged) -> None:
        data = cast(Screened, event.data)
        if data.decided_after is not None:
            return  # a legacy late member decided alone: placement never acted on it
        request = self._request(event, data)
        if data.decision == "accepted" and request is None:
            return  # placement rejects it and keeps what it had
        members = frozenset(member.case_id for member in data.members)
        chain = self._decisions.setdefault(data.group_id, {})
        chain[event.event_id] = _Decision(request is not None, members)
        self._live[data.group_id] = event
        if request is None:
            self._accepted.pop(data.group_id, None)
        else:
            self._accepted[data.group_id] = request
            self._requests[event.event_id] = request
        self._follow(event, data.group_id, request)

    def _acted_on(self, event: Logged, group: str) -> GroupRequest | None:
        """The accepted request placement acted on: the decision the event names.

        An event whose cause is no decision of the group (a history written by hand)
        is judged against the group's latest accepted decision.
        """
        cause = event.envelope.causation_id
        named = self._requests.get(cause) if cause is not None else None
        if named is not None and named.group_id == group:
            return named
        if cause is not None and cause in self._decisions.get(group, {}):
            return None  # a decision of the group that does not accept it
        return self._accepted.get(group)

    def _forget_requests(self, group: str, placed_on: str) -> None:
        """Drop the requests of the decisions up to the one a group was placed on.

        Placement acts on a group's decisions in their order: none of its later events
        names an earlier one. Later decisions (and the live one) are kept.
        """
        live = self._live.get(group)
        for decision in self._decisions.get(group, {}):
            if live is None or decision != live.event_id:
                self._requests.pop(decision, None)
            if decision == placed_on:
                return

    def _refollow(self, group: str) -> None:
        """Note again whether the group's live decision bears out what it now holds."""
        live = self._live.get(group)
        if live is not None:
            self._follow(live, group, self._requests.get(live.event_id))

    def _request(self, event: Logged, data: Screened) -> GroupRequest | None:
        """What placement is asked to place for an accepted decision, if it can be placed."""
        crossing = event.envelope.crossing
        if data.decision != "accepted" or not data.members or data.returned_at is None:
            return None
        if crossing not in self.reference.crossing_codes:
            return None
        members = tuple(member.case_id for member in data.members)
        return GroupRequest(
            data.group_id, crossing, members, len(members), data.returned_at, event.event_id
        )

    def _follow(self, event: Logged, group: str, request: GroupRequest | None) -> None:
        """Note a live placement or wait that the new live decision calls to be withdrawn."""
        given = self._given.get(group)
        if given is not None:
            same = request is not None and frozenset(request.members) == given.members
            stale = not same
        else:
            stale = request is None and self._home_queue(group) is not None
        if stale:
            self._unfollowed[group] = event
        else:
            self._unfollowed.pop(group, None)

    def _evolve(self, location: str, change: Change) -> None:
        """Apply `change` as the writer does (`fold.evolve`: a stale one changes nothing)."""
        self.states[location] = evolve(self.states[location], change)

    def _status(self, event: Logged) -> None:
        data = cast(LocationStatusChanged, event.data)
        if data.location in self.states:
            change = StatusSet(data.security_level, data.daily_cap, data.effective_at)
            self._evolve(data.location, change)

    def _capacity(self, event: Logged) -> None:
        data = cast(CapacityUpdated, event.data)
        state = self.states.get(data.location)
        if state is not None and data.shelter_id in state.shelters:
            self._evolve(data.location, BedsSet(data.shelter_id, data.beds, data.effective_at))

    def _departure(self, event: Logged) -> None:
        data = cast(ShelterDeparted, event.data)
        given = self._given.get(data.group_id)
        if given is None or data.group_id in self._departed:
            return
        if (given.location, given.shelter_id) != (data.location, data.shelter_id):
            return
        self._departed.add(data.group_id)
        del self._given[data.group_id]
        self._unfollowed.pop(data.group_id, None)  # gone: nothing left to withdraw
        self._evolve(given.location, Left(given.shelter_id, given.beds))

    def _deferred(self, event: Logged) -> None:
        data = cast(PlacementDeferred, event.data)
        request = self._acted_on(event, data.group_id)
        if data.group_id in self._given:
            return  # a deferral announced as the group was being placed
        if request is None:
            self._report(event, findings.DEFERRED_WITHOUT_ACCEPTANCE, "no accepted screened event")
            return
        home = self.reference.location_for_crossing(request.crossing).code
        queue = self._queues.setdefault(home, [])
        if data.group_id in queue:
            self._queued[data.group_id] = request  # announced again, under a new decision
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
        self._queued[data.group_id] = request
        self._refollow(data.group_id)

    def _placed(self, event: Logged) -> None:
        data = cast(Placed, event.data)
        state = self.states.get(data.location)
        request = self._acted_on(event, data.group_id)
        if data.group_id in self._given:
            detail = "the group already has a live placement"
            self._report(event, findings.GROUP_PLACED_TWICE, detail)
            return
        if data.group_id in self._departed:
            self._report(event, findings.GROUP_PLACED_TWICE, "the group was placed and departed")
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
        self._apply(data, event, request)

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
        queue = [g for g in self._queues.get(home, []) if g in self._queued]
        head = self._queued[queue[0]] if queue else request
        return local_date(event.occurred_at, offset_of=head.returned_at)

    def _home_and_alternate(self, home: str) -> tuple[LocationState, LocationState | None]:
        state = self.states[home]
        return state, None if state.alternate is None else self.states[state.alternate]

    def _apply(self, data: Placed, event: Logged, request: GroupRequest | None) -> None:
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
            self._queued.pop(data.group_id, None)
            if self._accepted.get(data.group_id) == request:
                del self._accepted[data.group_id]  # placed: only `_given` is needed from now on
            self._forget_requests(data.group_id, request.screened_event_id)
        self._evolve(data.location, Received(data.shelter_id, data.beds, day))
        members = frozenset(data.members)
        self._given[data.group_id] = _Given(data.location, data.shelter_id, data.beds, day, members)
        self._refollow(data.group_id)

    def _withdrawn(self, event: Logged) -> None:
        data = cast(PlacementWithdrawn, event.data)
        problem = self._cause_problem(data)
        if problem is None:
            problem = self._leave_queue(data) if data.shelter_id is None else self._release(data)
        if problem is not None:
            self._report(event, WITHDRAWAL_NOT_BORNE_OUT, problem)
        if self._held(data.group_id) == "nothing":
            self._unfollowed.pop(data.group_id, None)

    def _cause_problem(self, data: PlacementWithdrawn) -> str | None:
        """Why the decision the withdrawal names does not call for it, if it does not."""
        decision = self._decisions.get(data.group_id, {}).get(data.screened_event_id)
        if decision is None:
            return f"{data.screened_event_id} is not a decision of the group"
        if data.reason == "NO_LONGER_ACCEPTED" and decision.accepted:
            return f"{data.screened_event_id} accepts the group"
        if data.reason == "GROUP_CHANGED" and (
            not decision.accepted or decision.members == frozenset(data.members)
        ):
            return f"{data.screened_event_id} does not accept the group with other members"
        return None

    def _release(self, data: PlacementWithdrawn) -> str | None:
        given = self._given.get(data.group_id)
        if given is None:
            return "the group has no live placement"
        if (given.location, given.shelter_id, given.beds) != (
            data.location,
            data.shelter_id,
            data.beds_released,
        ):
            return f"the group has {given.beds} bed(s) at {given.location}/{given.shelter_id}"
        if data.reason == "GROUP_CHANGED":  # placed again whole: counted again then
            change: Change = TakenBack(given.shelter_id, given.beds, given.day)
        else:
            change = Left(given.shelter_id, given.beds)
        self._evolve(given.location, change)
        del self._given[data.group_id]
        return None

    def _leave_queue(self, data: PlacementWithdrawn) -> str | None:
        home = self._home_queue(data.group_id)
        if home is None:
            return "the group has no live placement and was not waiting"
        if data.beds_released != 0:
            return f"a group that was only waiting releases no beds, not {data.beds_released}"
        self._queues[home].remove(data.group_id)
        self._queued.pop(data.group_id, None)
        return None

    def _home_queue(self, group: str) -> str | None:
        return next((code for code, queue in self._queues.items() if group in queue), None)

    def _held(self, group: str) -> str:
        if group in self._given:
            return "placed"
        return "waiting" if self._home_queue(group) is not None else "nothing"

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
