"""A synthetic recorded history, for the audit's tests and the replay benchmark.

Pure and deterministic (a seed): realistic `person-returned` records; `screened` from
`decide_group`; `placed`/`placement-deferred` from the placement policy
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
from schemas.envelope import Envelope, digest_of, event_id_for, make_envelope
from schemas.person import PersonReturned
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from services.audit.simulation import PlacementSimulator
from services.audit.synthetic_people import CROSSINGS, people, weighted
from services.notify.requests import (
    care_requests_for_placement,
    legal_aid_for_placement,
    legal_aid_for_referral,
    request_event_id,
)
from services.placement.state import GroupRequest
from services.reference import Reference
from services.screening.rules import decide_group
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
            yield from self._group(number, moment, crossing)
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
            yield from getattr(self, f"_{kind}")(now, *args)

    def _surging(self, moment: datetime) -> str | None:
        elapsed = moment - self.options.start
        if timedelta(hours=36) <= elapsed < timedelta(hours=48):
            return self.options.surge_crossing
        return None

    def _group(self, number: int, moment: datetime, crossing: str) -> Iterator[Event]:
        members = people(self.rng, self.options.older_share, number, crossing, moment)
        arrived = members
        if len(members) > 1 and self.rng.random() < self.options.incomplete_share:
            arrived = members[:-1]  # one never came: the group is decided incomplete
        envelopes = []
        for member in arrived:
            envelope = make_envelope(
                member,
                event_id=event_id_for("person-returned", member.source, member.submission_id),
                producer="intake/0.1.0",
                correlation_id=member.group_id,
                causation_id=None,
                crossing=crossing,
                occurred_at=self.at(moment + timedelta(seconds=70)),
            )
            envelopes.append(envelope)
            yield "person-returned", envelope
        yield from self._decide(envelopes, crossing, moment + timedelta(minutes=2))

    def _decide(
        self, members: list[Envelope[PersonReturned]], crossing: str, when: datetime
    ) -> Iterator[Event]:
        decision = decide_group([m.data for m in members], self.rules)
        causes = digest_of([m.event_id for m in members])
        now = self.at(when)
        envelope = make_envelope(
            decision,
            event_id=event_id_for("screened", causes),
            producer="screening/0.1.0",
            correlation_id=decision.group_id,
            causation_id=causes,
            crossing=crossing,
            occurred_at=now,
        )
        yield "screened", envelope
        if decision.decision == "referred":
            yield from self._referral(envelope)
        if decision.decision != "accepted" or decision.returned_at is None:
            return
        self.screened[decision.group_id] = envelope
        ids = tuple(member.case_id for member in decision.members)
        request = GroupRequest(
            decision.group_id, crossing, ids, len(ids), decision.returned_at, envelope.event_id
        )
        now = self.at(now + timedelta(seconds=1))
        yield from self._outputs(self.placement.new_day(now), now)
        yield from self._outputs(self.placement.accept(request, now), now)

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
            yield (
                "legal-aid-requested",
                self._request(
                    request, screened, request_event_id("legal-aid-requested", screened.event_id)
                ),
            )

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
        return make_envelope(
            data,
            event_id=event_id,
            producer="notify/0.1.0",
            correlation_id=cause.correlation_id,
            causation_id=cause.event_id,
            crossing=cause.crossing,
            occurred_at=self.at(self.last + timedelta(seconds=1)),
        )

    def _departure(self, now: datetime, placed: Placed) -> Iterator[Event]:
        data = ShelterDeparted(
            group_id=placed.group_id,
            shelter_id=placed.shelter_id,
            location=placed.location,
            departed_at=now,
        )
        envelope = _ops_event(data, f"departed-{placed.group_id}", placed.group_id, now)
        yield "shelter-departed", envelope
        yield from self._outputs(self.placement.departure(placed.group_id, now), now)

    def _status(self, now: datetime, location: str, level: Any, cap: int) -> Iterator[Event]:
        data = LocationStatusChanged(
            location=location, security_level=level, daily_cap=cap, effective_at=now
        )
        yield (
            "location-status-changed",
            _ops_event(data, f"{location}-{now.isoformat()}", location, now),
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
            _ops_event(data, f"{shelter_id}-{now.isoformat()}", shelter_id, now),
        )
        yield from self._outputs(self.placement.capacity(location, shelter_id, beds, now), now)


def _ops_event(data: Any, key: str, correlation: str, now: datetime) -> Envelope[Any]:
    return make_envelope(
        data,
        event_id=event_id_for(data.EVENT_TYPE, key),
        producer="ops/1",
        correlation_id=correlation,
        causation_id=None,
        crossing=None,
        occurred_at=now,
    )
