"""A recorded history built event by event, as the services would have written it.

`Log` keeps the events in log order with their offsets; each helper writes one event
with the ids, causation and keys the services use, at a time given in minutes after
`T0` (15:58 at El Paso on 27 November 2026).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.decisions import GatherWindow, Placed, PlacementDeferred, PlacementWithdrawn, Screened
from schemas.envelope import Envelope, digest_of, event_id_for, make_envelope
from schemas.person import PersonReturned
from schemas.requests import CareRequested, LegalAidRequested
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from services.audit.events import Logged
from services.screening.rules import decide_group
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import published

T0 = datetime(2026, 11, 27, 22, 58, tzinfo=UTC)
RULES = load_rule_set("2021-12")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@dataclass
class Log:
    events: list[Logged] = field(default_factory=list)

    def add(self, topic: str, envelope: Envelope[Any], partition: int = 0) -> Envelope[Any]:
        self.events.append(Logged.of(topic, envelope, partition, len(self.events)))
        return envelope

    def person(self, record: PersonReturned, minutes: float) -> Envelope[PersonReturned]:
        envelope = published(record, at(minutes))
        return self.add("person-returned", envelope)

    def screen(
        self, persons: list[Envelope[PersonReturned]], minutes: float, **overrides: Any
    ) -> Envelope[Screened]:
        return self.add("screened", decided(persons, at(minutes), **overrides))

    def correct(
        self, original: Envelope[PersonReturned], minutes: float, **changes: Any
    ) -> Envelope[PersonReturned]:
        """A correction of `original`'s record: a new submission naming it in `corrects`."""
        record = original.data.model_copy(
            update={
                "submission_id": f"{original.data.submission_id}-fix-{minutes:g}",
                "corrects": original.data.submission_id,
                **changes,
            }
        )
        return self.person(record, minutes)

    def first(
        self,
        persons: list[Envelope[PersonReturned]],
        minutes: float,
        closed_by: Any = "complete",
        **overrides: Any,
    ) -> Envelope[Screened]:
        """A group's first decision, its window opened at its first member's arrival."""
        opened = min(m.occurred_at for m in self.persons_of(persons[0].data.group_id))
        window = GatherWindow(
            opened_at=opened, minutes=10, closed_at=at(minutes), closed_by=closed_by
        )
        return self.screen(persons, minutes, window=window, revision=1, **overrides)

    def again(
        self,
        previous: Envelope[Screened],
        persons: list[Envelope[PersonReturned]],
        minutes: float,
        **overrides: Any,
    ) -> Envelope[Screened]:
        """A re-decision of the whole group, superseding `previous`, keeping its window."""
        chain = {
            "supersedes": previous.event_id,
            "revision": (previous.data.revision or 1) + 1,
            "window": previous.data.window,
        }
        return self.screen(persons, minutes, **{**chain, **overrides})

    def persons_of(self, group_id: str) -> list[Envelope[PersonReturned]]:
        return [
            e.envelope
            for e in self.events
            if e.topic == "person-returned" and e.data.group_id == group_id
        ]

    def withdraw(
        self, placed: Envelope[Placed], screened: Envelope[Screened], reason: Any, minutes: float
    ) -> Envelope[PlacementWithdrawn]:
        data = PlacementWithdrawn(
            group_id=placed.data.group_id,
            location=placed.data.location,
            shelter_id=placed.data.shelter_id,
            members=placed.data.members,
            beds_released=placed.data.beds,
            reason=reason,
            screened_event_id=screened.event_id,
            placed_event_id=placed.event_id,
        )
        return self.add("placement-withdrawn", self._caused(data, screened, minutes, reason))

    def place(
        self,
        screened: Envelope[Screened],
        location: str,
        shelter_id: str,
        minutes: float,
        **extra: Any,
    ) -> Envelope[Placed]:
        decision = screened.data
        data = Placed(
            group_id=decision.group_id,
            location=location,
            shelter_id=shelter_id,
            members=[m.case_id for m in decision.members],
            beds=len(decision.members),
            rerouted_from=extra.pop("rerouted_from", None),
            transport_required=extra.pop("transport_required", False),
            deferred_since=extra.pop("deferred_since", None),
            returned_at=decision.returned_at,
        )
        if extra:
            data = data.model_copy(update=extra)
        return self.add("placed", self._caused(data, screened, minutes, "placed"))

    def defer(
        self, screened: Envelope[Screened], location: str, reason: Any, minutes: float
    ) -> Envelope[PlacementDeferred]:
        decision = screened.data
        data = PlacementDeferred(
            group_id=decision.group_id,
            location=location,
            reason=reason,
            deferred_since=at(minutes),
            beds=len(decision.members),
            members=[m.case_id for m in decision.members],
            queue_position=1,
        )
        return self.add("placement-deferred", self._caused(data, screened, minutes, reason))

    def legal_aid(
        self, cause: Envelope[Any], minutes: float, purpose: Any = "immigration_hearing"
    ) -> Envelope[Any]:
        data = LegalAidRequested(
            group_id=cause.correlation_id,
            purpose=purpose,
            priority="normal" if purpose == "immigration_hearing" else "urgent",
            provider_id="LA-CJS-01",
            provider_choice="covers spa; 0 open requests",
            location=getattr(cause.data, "location", None),
            shelter_id=getattr(cause.data, "shelter_id", None),
            members=list(getattr(cause.data, "members", []))
            if purpose == "immigration_hearing"
            else [m.case_id for m in cause.data.members],
            earliest_hearing_at=None,
            preferred_language="spa",
            interpreter_required=False,
            due_by=None,
        )
        return self.add("legal-aid-requested", self._caused(data, cause, minutes, "legal"))

    def care(self, placed: Envelope[Placed], case_id: str, minutes: float) -> Envelope[Any]:
        data = CareRequested(
            group_id=placed.data.group_id,
            case_id=case_id,
            kind="covid_vaccination",
            provider_id="HP-CJS-01",
            location=placed.data.location,
            shelter_id=placed.data.shelter_id,
        )
        return self.add("care-requested", self._caused(data, placed, minutes, case_id))

    def status(self, location: str, level: Any, cap: int, minutes: float) -> Envelope[Any]:
        data = LocationStatusChanged(
            location=location, security_level=level, daily_cap=cap, effective_at=at(minutes)
        )
        return self.add("location-status-changed", _ops(data, location, minutes))

    def capacity(self, location: str, shelter_id: str, beds: int, minutes: float) -> Envelope[Any]:
        data = CapacityUpdated(
            shelter_id=shelter_id, location=location, beds=beds, effective_at=at(minutes)
        )
        return self.add("capacity-updated", _ops(data, shelter_id, minutes))

    def departed(self, placed: Envelope[Placed], minutes: float) -> Envelope[Any]:
        data = ShelterDeparted(
            group_id=placed.data.group_id,
            shelter_id=placed.data.shelter_id,
            location=placed.data.location,
            departed_at=at(minutes),
        )
        return self.add("shelter-departed", _ops(data, placed.data.group_id, minutes))

    def _caused(self, data: Any, cause: Envelope[Any], minutes: float, part: str) -> Envelope[Any]:
        return caused(data, cause, minutes, part)


def decided(
    persons: list[Envelope[PersonReturned]], occurred_at: datetime | None = None, **overrides: Any
) -> Envelope[Screened]:
    """The rules' decision on `persons`, as screening writes it; `overrides` (a forged or
    legacy decision) change it and its id."""
    decision = decide_group([m.data for m in persons], RULES)
    if overrides:
        decision = decision.model_copy(update=overrides)
    causes = digest_of([m.event_id for m in persons])
    return make_envelope(
        decision,
        event_id=event_id_for("screened", causes, *overrides),
        producer="screening/0.1.0",
        correlation_id=decision.group_id,
        causation_id=causes,
        crossing=persons[0].data.crossing,
        occurred_at=occurred_at,
    )


def caused(
    data: Any, cause: Envelope[Any], minutes: float, part: str, producer: str = "test/1"
) -> Envelope[Any]:
    """`data` as its service writes it for `cause`: an id from the cause and `part`."""
    return make_envelope(
        data,
        event_id=event_id_for(data.EVENT_TYPE, cause.event_id, part),
        producer=producer,
        correlation_id=cause.correlation_id,
        causation_id=cause.event_id,
        crossing=cause.crossing,
        occurred_at=at(minutes),
    )


def _ops(data: Any, correlation: str, minutes: float) -> Envelope[Any]:
    return make_envelope(
        data,
        event_id=event_id_for(data.EVENT_TYPE, correlation, str(minutes)),
        producer="ops/1",
        correlation_id=correlation,
        causation_id=None,
        crossing=None,
        occurred_at=at(minutes),
    )
