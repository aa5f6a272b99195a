"""A synthetic recorded history, for the audit's tests and the replay benchmark.

Pure and deterministic (a seed): realistic `person-returned` records, a family's members
arriving minutes apart, now and then one after its group's window or a correction of a
record; `screened` from `decide_group`, gathered as screening gathers (complete, or the
window ran out) and re-decided over the whole group, superseding, when a late member or
a correction comes; `placed`/`placement-deferred` from the placement policy
(`simulation`); legal-aid and care requests from notify's rules; status changes, a
capacity cut and departures on a schedule. Events come out in log order, their
`occurred_at` strictly increasing, with the ids the services would give them.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.decisions import Placed, Screened
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.person import PersonReturned
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from services.audit.simulation import PlacementSimulator
from services.audit.synthetic_people import CROSSINGS, Gathering, corrected, people, weighted
from services.notify.changes import after, rereferral
from services.notify.ledger import OpenRequest
from services.notify.requests import (
    care_requests_for_placement,
    legal_aid_for_placement,
    legal_aid_for_referral,
    referred_for_fear,
    request_event_id,
)
from services.placement.state import GroupRequest
from services.reference import Reference
from services.screening.ruleset import load_rule_set

Event = tuple[str, Envelope[Any]]
"""(contract topic, envelope)."""


@dataclass(frozen=True)
class HistoryOptions:
    """How many groups, from which seed, starting when, how far apart, with which rules."""

    groups: int = 100
    seed: int = 7
    start: datetime = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    minutes_between_groups: float = 25.0
    rule_set: str = "2021-12"
    older_share: float = 0.08
    incomplete_share: float = 0.03
    surge_crossing: str | None = "ELP"
    """Every group returns here, five times as often, from the second day's noon to midnight."""
    wait_minutes: float = 10.0
    """Screening's gathering window (`RETURNS_GROUP_WAIT_MINUTES`); its grace is 30 s."""
    member_gap_minutes: float = 1.5
    """Mean minutes between two members' arrivals: now and then one comes after the window."""
    correction_share: float = 0.04
    """Groups one of whose records is corrected, minutes or hours after it arrived."""


GRACE = timedelta(seconds=30)
"""Screening's `RETURNS_GROUP_GRACE_SECONDS`."""


def synthetic_history(
    reference: Reference, options: HistoryOptions | None = None
) -> Iterator[Event]:
    """Every event of a generated history, in log order."""
    options = options or HistoryOptions()
    yield from _History(reference, options).events()


def publish_history(
    publish: Callable[[str, Envelope[Any]], object], events: Iterator[Event] | list[Event]
) -> Counter[str]:
    """Hand each event to `publish(topic, envelope)`; returns how many per topic."""
    counts: Counter[str] = Counter()
    for topic, envelope in events:
        publish(topic, envelope)
        counts[topic] += 1
    return counts


class _History:
    def __init__(self, reference: Reference, options: HistoryOptions) -> None:
        self.reference = reference
        self.options = options
        self.rng = random.Random(options.seed)  # noqa: S311 - test data, not secrets
        self.rules = load_rule_set(options.rule_set)
        self.placement = PlacementSimulator(reference)
        self.last = options.start
        self.screened: dict[str, Envelope[Screened]] = {}
        self.interviews: dict[str, OpenRequest] = {}  # open non-refoulement requests
        self.open_requests: Counter[str] = Counter()
        self.scheduled: list[tuple[datetime, int, str, tuple[Any, ...]]] = []
        self.sequence = 0
        self._schedule_operations()

    def at(self, desired: datetime) -> datetime:
        """`desired`, or just after the last event: times strictly increase."""
        self.last = max(desired, self.last + timedelta(milliseconds=1))
        return self.last

    def events(self) -> Iterator[Event]:
        moment = self.options.start
        for number in range(self.options.groups):
            surge = self._surging(moment)
            gap = self.options.minutes_between_groups / (5 if surge else 1)
            moment += timedelta(minutes=self.rng.expovariate(1 / gap))
            crossing = surge or weighted(self.rng, CROSSINGS)
            yield from self._due(moment)
            self._group(number, moment, crossing)
        yield from self._due(moment + timedelta(days=30), departures=False)

    def _schedule(self, when: datetime, kind: str, *args: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.scheduled, (when, self.sequence, kind, args))

    def _schedule_operations(self) -> None:
        """Changes that begin within the history, each undone later (always scheduled)."""
        span = timedelta(minutes=self.options.groups * self.options.minutes_between_groups)
        plan = (
            (2, 4, "status", ("NLD", "suspended", 30), ("NLD", "normal", 30)),
            (3, 5, "capacity", ("TIJ", "TIJ-S02", 40), ("TIJ", "TIJ-S02", 200)),
            (6, 7, "status", ("CJS", "elevated", 12), ("CJS", "normal", 30)),
        )
        for begin, end, kind, change, undo in plan:
            if timedelta(days=begin) < span:
                self._schedule(self.options.start + timedelta(days=begin), kind, *change)
                self._schedule(self.options.start + timedelta(days=end), kind, *undo)

    def _due(self, until: datetime, departures: bool = True) -> Iterator[Event]:
        while self.scheduled and self.scheduled[0][0] <= until:
            when, _, kind, args = heapq.heappop(self.scheduled)
            if kind == "departure" and not departures:
                continue
            now = self.at(when)
            yield from self._outputs(self.placement.new_day(now), now)
            now = self.at(now)  # after what the new day let through
            yield from getattr(self, f"_{kind}")(now, *args)

    def _surging(self, moment: datetime) -> str | None:
        elapsed = moment - self.options.start
        if timedelta(hours=36) <= elapsed < timedelta(hours=48):
            return self.options.surge_crossing
        return None

    def _group(self, number: int, moment: datetime, crossing: str) -> None:
        """Schedule the arrivals of group `number`'s members, and a correction now and then."""
        members = people(self.rng, self.options.older_share, number, crossing, moment)
        arrived = members
        if len(members) > 1 and self.rng.random() < self.options.incomplete_share:
            arrived = members[:-1]  # one never came: the group is decided incomplete
        gathering = Gathering(crossing, members[0].group_size)
        when = moment + timedelta(seconds=70)
        for index, member in enumerate(arrived):
            if index:
                when += timedelta(minutes=self.rng.expovariate(1 / self.options.member_gap_minutes))
            self._schedule(when, "arrival", gathering, member)
        if self.rng.random() < self.options.correction_share:
            later = self.rng.choice((self.rng.uniform(0.2, 4), self.rng.uniform(30, 600)))
            fixed = corrected(arrived[0])
            self._schedule(
                moment + timedelta(seconds=70, minutes=later), "arrival", gathering, fixed
            )

    def _arrival(
        self, now: datetime, gathering: Gathering, record: PersonReturned
    ) -> Iterator[Event]:
        live = gathering.live
        if record.corrects is not None and live is not None and live.data.decision == "accepted":
            return  # re-placing a placed group is not simulated: this correction never came
        yield "person-returned", gathering.arrive(record, now)
        if len(gathering.records) == 1:
            due = now + timedelta(minutes=self.options.wait_minutes)
            self._schedule(due + GRACE, "close", gathering)
        if live is None and gathering.complete():
            gathering.close(now, "complete", self.options.wait_minutes)
        if gathering.window is not None:
            yield from self._decide(gathering, now)  # first, or again over the whole group

    def _close(self, now: datetime, gathering: Gathering) -> Iterator[Event]:
        if gathering.live is None:  # the window ran out before the group was complete
            gathering.close(now, "window", self.options.wait_minutes)
            yield from self._decide(gathering, now)

    def _decide(self, gathering: Gathering, when: datetime) -> Iterator[Event]:
        envelope = gathering.decide(self.rules, self.at(when + timedelta(seconds=2)))
        decision = envelope.data
        yield "screened", envelope
        yield from self._interview(envelope)
        # Never accepted before: an incomplete group is referred, and accepted groups
        # get no corrections here (see `_arrival`), so this is the group's first placement.
        if decision.decision != "accepted" or decision.returned_at is None:
            return
        self.screened[decision.group_id] = envelope
        ids = tuple(member.case_id for member in decision.members)
        request = GroupRequest(
            decision.group_id,
            gathering.crossing,
            ids,
            len(ids),
            decision.returned_at,
            envelope.event_id,
        )
        now = self.at(envelope.occurred_at + timedelta(seconds=1))
        yield from self._outputs(self.placement.new_day(now), now)
        yield from self._outputs(self.placement.accept(request, now), now)

    def _interview(self, screened: Envelope[Screened]) -> Iterator[Event]:
        """One non-refoulement request per group: requested once, then amended or withdrawn,
        by notify's own rule (`rereferral`)."""
        request = self.interviews.get(screened.data.group_id)
        if request is None:
            yield from self._referral(screened)
            return
        still = referred_for_fear(screened.data)
        changes = rereferral([request], screened.data, screened.event_id, still)
        for opened, update in changes.updates:
            event_id = request_event_id("request-updated", screened.event_id, opened.event_id)
            yield "request-updated", self._request(update, screened, event_id)
            if update.change == "withdrawn":
                del self.interviews[screened.data.group_id]
            else:
                self.interviews[screened.data.group_id] = after(opened, update)

    def _referral(self, screened: Envelope[Screened]) -> Iterator[Event]:
        crossing = self.reference.crossing(screened.crossing or "")
        request = legal_aid_for_referral(
            screened.data,
            self.reference.legal_aid_providers,
            self.open_requests,
            screened.occurred_at,
            crossing=crossing,
        )
        if request is not None:
            event_id = request_event_id("legal-aid-requested", screened.event_id)
            envelope = self._request(request, screened, event_id)
            self.interviews[screened.data.group_id] = OpenRequest.of(event_id, request)
            yield "legal-aid-requested", envelope

    def _outputs(self, outputs: list[Envelope[Any]], now: datetime) -> Iterator[Event]:
        for envelope in outputs:
            envelope = envelope.model_copy(update={"occurred_at": self.at(now)})
            yield envelope.event_type, envelope
            if envelope.event_type == "placed":
                yield from self._after_placement(envelope)

    def _after_placement(self, placed: Envelope[Placed]) -> Iterator[Event]:
        screened = self.screened.pop(placed.data.group_id).data
        legal = legal_aid_for_placement(
            placed.data, screened, self.reference.legal_aid_providers, self.open_requests
        )
        self.open_requests[legal.provider_id] += 1
        yield (
            "legal-aid-requested",
            self._request(legal, placed, request_event_id("legal-aid-requested", placed.event_id)),
        )
        for care in care_requests_for_placement(
            placed.data, screened, self.reference.health_providers
        ):
            event_id = request_event_id("care-requested", placed.event_id, care.case_id)
            yield "care-requested", self._request(care, placed, event_id)
        stay = timedelta(hours=self.rng.uniform(20, 120))
        self._schedule(placed.occurred_at + stay, "departure", placed.data)

    def _request(self, data: Any, cause: Envelope[Any], event_id: str) -> Envelope[Any]:
        return notify_event(data, cause, event_id, self.at(self.last + timedelta(seconds=1)))

    def _departure(self, now: datetime, placed: Placed) -> Iterator[Event]:
        data = ShelterDeparted(
            group_id=placed.group_id,
            shelter_id=placed.shelter_id,
            location=placed.location,
            departed_at=now,
        )
        envelope = ops_event(data, f"departed-{placed.group_id}", placed.group_id, now)
        yield "shelter-departed", envelope
        yield from self._outputs(self.placement.departure(placed.group_id, now), now)

    def _status(self, now: datetime, location: str, level: Any, cap: int) -> Iterator[Event]:
        data = LocationStatusChanged(
            location=location, security_level=level, daily_cap=cap, effective_at=now
        )
        yield (
            "location-status-changed",
            ops_event(data, f"{location}-{now.isoformat()}", location, now),
        )
        yield from self._outputs(self.placement.status(location, level, cap, now), now)

    def _capacity(
        self, now: datetime, location: str, shelter_id: str, beds: int
    ) -> Iterator[Event]:
        data = CapacityUpdated(
            shelter_id=shelter_id, location=location, beds=beds, effective_at=now
        )
        yield (
            "capacity-updated",
            ops_event(data, f"{shelter_id}-{now.isoformat()}", shelter_id, now),
        )
        yield from self._outputs(self.placement.capacity(location, shelter_id, beds, now), now)


def ops_event(
    data: Any, key: str, correlation: str, occurred_at: datetime | None = None
) -> Envelope[Any]:
    """An operations event (a status, capacity or departure) as the ops tools write it."""
    return make_envelope(
        data,
        event_id=event_id_for(data.EVENT_TYPE, key),
        producer="ops/1",
        correlation_id=correlation,
        causation_id=None,
        crossing=None,
        occurred_at=occurred_at,
    )


def notify_event(
    data: Any, cause: Envelope[Any], event_id: str, occurred_at: datetime | None = None
) -> Envelope[Any]:
    """A request (or its update) as notify writes it for `cause`."""
    return make_envelope(
        data,
        event_id=event_id,
        producer="notify/0.1.0",
        correlation_id=cause.correlation_id,
        causation_id=cause.event_id,
        crossing=cause.crossing,
        occurred_at=occurred_at,
    )
