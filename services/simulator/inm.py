"""The INM and shelter side of a run: status changes, bed counts and departures. Pure.

INM publishes ``location-status-changed`` (scripted changes, such as Nuevo Laredo
suspended for violence and reopened, plus occasional daily-cap changes around 30 a
day); shelters publish ``capacity-updated`` (beds changing around their seeded
figure) and ``shelter-departed``.

The simulator cannot see placements. It assumes a share of the groups it sent were
placed at their crossing's location, in the largest shelter there, and has them
leave after a delay. Placement rejects a departure of a group it never placed
there (declined, referred, deferred, rerouted or placed elsewhere): that is expected.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.base import EventData
from schemas.envelope import Envelope, event_id_for, make_envelope
from schemas.status import CapacityUpdated, LocationStatusChanged, SecurityLevel, ShelterDeparted
from services.reference import Reference, Shelter
from services.simulator.profile import InmProfile, ScriptedStatus

PRODUCER = "simulator/0.1.0"
TOPICS = {
    LocationStatusChanged.EVENT_TYPE: "location-status-changed",
    CapacityUpdated.EVENT_TYPE: "capacity-updated",
    ShelterDeparted.EVENT_TYPE: "shelter-departed",
}


@dataclass(frozen=True)
class InmEvent:
    """An event due ``at`` seconds into the run, for contract topic ``topic``."""

    at: float
    topic: str
    envelope: Envelope[Any]


@dataclass
class InmSide:
    """Plays INM and the shelters for the locations of ``crossings``."""

    seed: int
    profile: InmProfile
    reference: Reference
    crossings: Sequence[str]
    duration: float
    start: datetime
    tag: str
    _lanes: dict[str, str] = field(init=False, default_factory=dict)
    _levels: dict[str, SecurityLevel] = field(init=False, default_factory=dict)
    _seq: int = field(init=False, default=0)
    _departures: random.Random = field(init=False)

    def __post_init__(self) -> None:
        for code in self.crossings:
            self._lanes[self.reference.crossing(code).location] = code
        self._departures = random.Random(f"{self.seed}:departures")  # noqa: S311 (simulated data)

    @property
    def return_points(self) -> list[str]:
        """Codes of the locations the run's crossings return to."""
        return sorted(self._lanes)

    @property
    def shelters(self) -> list[Shelter]:
        """Shelters at those locations and at their alternates."""
        codes = set(self._lanes)
        codes.update(
            alt for c in self._lanes if (alt := self.reference.location(c).alternate) is not None
        )
        return [s for code in sorted(codes) for s in self.reference.shelters_at(code)]

    def timeline(self) -> Iterator[InmEvent]:
        """Scripted and unscripted status and capacity events, in time order, within the run."""
        rng = random.Random(f"{self.seed}:inm")  # noqa: S311 (simulated data)
        script = sorted(
            (s for s in self.profile.script if s.location in self._lanes), key=lambda s: s.at
        )
        unscripted = self._unscripted_times(rng)
        upcoming = next(unscripted, None)
        for scripted in script:
            at = scripted.at * self.duration
            while upcoming is not None and upcoming < at:
                yield from self._unscripted(rng, upcoming)
                upcoming = next(unscripted, None)
            yield self._scripted(scripted, at)
        while upcoming is not None:
            yield from self._unscripted(rng, upcoming)
            upcoming = next(unscripted, None)

    def departure_for(self, records: Sequence[dict[str, Any]], sent_at: float) -> InmEvent | None:
        """Maybe a ``shelter-departed`` for a group sent at ``sent_at``, after a delay."""
        rng = self._departures
        if not records or rng.random() >= self.profile.departures.share:
            return None
        at = sent_at + rng.uniform(*self.profile.departures.delay_seconds)
        crossing, group_id = records[0]["crossing"], records[0]["group_id"]
        location = self.reference.crossing(crossing).location
        shelter = _largest_family_shelter(self.reference.shelters_at(location))
        if at >= self.duration or shelter is None:
            return None
        data = ShelterDeparted(
            group_id=group_id, shelter_id=shelter.id, location=location, departed_at=self._when(at)
        )
        event_id = event_id_for(data.EVENT_TYPE, group_id, shelter.id)
        return self._event(at, data, event_id, group_id, crossing)

    def _unscripted_times(self, rng: random.Random) -> Iterator[float]:
        per_second = self.profile.events_per_minute / 60.0
        at = 0.0
        while per_second > 0:
            at += rng.expovariate(per_second)
            if at >= self.duration:
                return
            yield at

    def _unscripted(self, rng: random.Random, at: float) -> Iterator[InmEvent]:
        if rng.random() < self.profile.capacity_share:
            yield from self._capacity(rng, at)
            return
        open_points = [c for c in self.return_points if self._levels.get(c) != "suspended"]
        if not open_points:
            return
        location = rng.choice(open_points)
        level: SecurityLevel = (
            "elevated" if rng.random() < self.profile.elevated_share else "normal"
        )
        cap = rng.randint(*self.profile.daily_cap)
        yield self._status(at, location, level, cap, None)

    def _capacity(self, rng: random.Random, at: float) -> Iterator[InmEvent]:
        shelters = self.shelters
        if not shelters:
            return
        shelter = rng.choice(shelters)
        beds = max(1, round(shelter.beds * rng.uniform(*self.profile.bed_factor)))
        data = CapacityUpdated(
            shelter_id=shelter.id, location=shelter.location, beds=beds, effective_at=self._when(at)
        )
        yield self._event(
            at, data, self._next_id(data), shelter.id, self._lanes.get(shelter.location)
        )

    def _scripted(self, scripted: ScriptedStatus, at: float) -> InmEvent:
        return self._status(
            at, scripted.location, scripted.security_level, scripted.daily_cap, scripted.note
        )

    def _status(
        self, at: float, location: str, level: SecurityLevel, cap: int, note: str | None
    ) -> InmEvent:
        self._levels[location] = level
        data = LocationStatusChanged(
            location=location,
            security_level=level,
            daily_cap=cap,
            effective_at=self._when(at),
            note=note,
        )
        return self._event(at, data, self._next_id(data), location, self._lanes.get(location))

    def _next_id(self, data: EventData) -> str:
        self._seq += 1
        return event_id_for(data.EVENT_TYPE, "simulator", self.tag, str(self._seq))

    def _when(self, at: float) -> datetime:
        # Whole milliseconds: what the envelope keeps of occurred_at on the wire.
        return self.start + timedelta(milliseconds=round(at * 1000))

    def _event(
        self, at: float, data: EventData, event_id: str, key: str, crossing: str | None
    ) -> InmEvent:
        envelope = make_envelope(
            data,
            event_id=event_id,
            producer=PRODUCER,
            correlation_id=key,
            causation_id=None,
            crossing=crossing,
            occurred_at=self._when(at),
        )
        return InmEvent(at, TOPICS[data.EVENT_TYPE], envelope)


def _largest_family_shelter(shelters: Sequence[Shelter]) -> Shelter | None:
    """Where placement puts a group first when every shelter is empty: most beds, then id."""
    family = [s for s in shelters if s.serves == "families_and_adults"]
    return min(family, key=lambda s: (-s.beds, s.id), default=None)
