"""A whole run as a time-ordered list of steps, computed without a clock. Pure.

Each crossing's send times come from :mod:`services.simulator.schedule`, one
person per send. A group is sent whole at the time of its first member's send and
uses up one send per member, so families arrive together and the long-run rate of
people is still the scheduled one. With ``--inm``, the INM side's events and the
departures of sent groups are merged in.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.reference import Reference
from services.simulator.inm import InmEvent, InmSide
from services.simulator.population import Population, run_tag
from services.simulator.profile import Profile
from services.simulator.schedule import Surge, merged_sends, split_rate


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate: ``rate`` people per second in all over ``duration`` seconds."""

    rate: float
    duration: float
    crossings: tuple[str, ...]
    profile: Profile
    seed: int = 0
    surges: tuple[Surge, ...] = ()
    weights: Mapping[str, float] | None = None
    inm: bool = False

    def base_rates(self) -> dict[str, float]:
        """Each crossing's rate before surges: ``rate`` split by the weights."""
        weights = {code: c.weight for code, c in self.profile.crossings.items()}
        weights.update(self.weights or {})
        return split_rate(self.rate, weights, self.crossings)


@dataclass(frozen=True)
class SendGroup:
    """Submit every record of one group, ``at`` seconds into the run."""

    at: float
    crossing: str
    records: list[dict[str, Any]]


Step = SendGroup | InmEvent


@dataclass
class Plan:
    """The steps of one run, started (in event time) at ``start``."""

    config: SimulationConfig
    reference: Reference
    start: datetime
    population: Population = field(init=False)
    inm: InmSide | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # Whole milliseconds, as envelopes keep them, so that events read back compare equal.
        self.start = self.start.replace(microsecond=self.start.microsecond // 1000 * 1000)
        tag = run_tag(self.config.seed, self.start)
        self.population = Population(self.config.seed, self.config.profile, tag)
        if self.config.inm:
            self.inm = InmSide(
                seed=self.config.seed,
                profile=self.config.profile.inm,
                reference=self.reference,
                crossings=self.config.crossings,
                duration=self.config.duration,
                start=self.start,
                tag=tag,
            )

    def steps(self) -> Iterator[Step]:
        """Every step, in time order; finite (nothing is due after the duration)."""
        config = self.config
        sends = merged_sends(config.base_rates(), config.surges, config.duration)
        owed: dict[str, int] = dict.fromkeys(config.crossings, 0)
        inm = _InmQueue(self.inm.timeline() if self.inm else iter(()))
        for at, crossing in sends:
            yield from inm.due(before=at)
            if owed[crossing] > 0:  # this send was used by a member of the last group
                owed[crossing] -= 1
                continue
            group = self.send(at, crossing)
            owed[crossing] = len(group.records) - 1
            yield group
            if self.inm is not None:
                inm.add(self.inm.departure_for(group.records, at))
        yield from inm.due(before=config.duration)

    def send(self, at: float, crossing: str) -> SendGroup:
        """The group whose first member's send is due ``at`` s into the run at ``crossing``."""
        when = self.start + timedelta(seconds=at)
        return SendGroup(at, crossing, self.population.group(crossing, when))


class _InmQueue:
    """INM events in time order: the INM timeline's next one plus pending departures."""

    def __init__(self, timeline: Iterator[InmEvent]) -> None:
        self._timeline = timeline
        self._order = itertools.count()
        self._heap: list[tuple[float, int, bool, InmEvent]] = []
        self._refill()

    def add(self, departure: InmEvent | None) -> None:
        """Queue a departure (None: nothing to queue)."""
        if departure is not None:
            heapq.heappush(self._heap, (departure.at, next(self._order), False, departure))

    def due(self, before: float) -> Iterator[InmEvent]:
        """The queued events due at or before ``before``, in time order."""
        while self._heap and self._heap[0][0] <= before:
            _, _, from_timeline, event = heapq.heappop(self._heap)
            if from_timeline:
                self._refill()
            yield event

    def _refill(self) -> None:
        event = next(self._timeline, None)
        if event is not None:
            heapq.heappush(self._heap, (event.at, next(self._order), True, event))


def group_sizes(steps: Sequence[Step]) -> dict[str, int]:
    """People sent per crossing by ``steps`` (for tests and reports)."""
    sent: dict[str, int] = {}
    for step in steps:
        if isinstance(step, SendGroup):
            sent[step.crossing] = sent.get(step.crossing, 0) + len(step.records)
    return sent
