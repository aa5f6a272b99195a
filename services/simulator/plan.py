"""A whole run as a time-ordered list of steps, computed without a clock. Pure.

Each crossing's send times come from :mod:`services.simulator.schedule`, one
person per send. A group is due at the time of its first member's send and uses up
one send per member, so the long-run rate of people is still the scheduled one.
Its :mod:`~services.simulator.timing` says which source submits it, how long ago
it returned (``returned_at`` = send time - delay) and whether its members are sent
apart. A member is never sent before its own ``returned_at``, nor after the run's
end (a spread that would run past the end is cut short there). With ``--inm``,
the INM side's events and the departures of sent groups are merged in.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from services.reference import Reference
from services.simulator.inm import InmEvent, InmSide
from services.simulator.population import Population, run_tag
from services.simulator.profile import Profile
from services.simulator.schedule import Surge, merged_sends, split_rate
from services.simulator.timing import IMMEDIATE, Timing

END_MARGIN = 0.001  # seconds before the end at which a cut-short spread sends the rest


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
    timing: Timing = IMMEDIATE

    def base_rates(self) -> dict[str, float]:
        """Each crossing's rate before surges: ``rate`` split by the weights."""
        weights = {code: c.weight for code, c in self.profile.crossings.items()}
        weights.update(self.weights or {})
        return split_rate(self.rate, weights, self.crossings)


@dataclass(frozen=True)
class SendGroup:
    """Submit ``records`` of one group, ``at`` seconds into the run.

    A group sent whole is one SendGroup; one whose members are spread is one per
    member, and only the first has ``first`` set.
    """

    at: float
    crossing: str
    records: list[dict[str, Any]]
    first: bool = True


Step = SendGroup | InmEvent


@dataclass
class Plan:
    """The steps of one run, started (in event time) at ``start``."""

    config: SimulationConfig
    reference: Reference
    start: datetime
    population: Population = field(init=False)
    inm: InmSide | None = field(init=False, default=None)
    _rngs: dict[str, random.Random] = field(init=False, default_factory=dict)

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
        queue = _Queue(self.inm.timeline() if self.inm else iter(()))
        for at, crossing in sends:
            yield from self._numbered(queue.due(before=at))
            if owed[crossing] > 0:  # this send was used by a member of an earlier group
                owed[crossing] -= 1
                continue
            parts = self.send(at, crossing)
            records = [record for part in parts for record in part.records]
            owed[crossing] = len(records) - 1
            for part in parts:
                queue.add(part)
            if self.inm is not None:
                queue.add(self.inm.departure_for(records, at))
            yield from self._numbered(queue.due(before=at))
        yield from self._numbered(queue.due(before=config.duration))

    def _numbered(self, steps: Iterator[Step]) -> Iterator[Step]:
        """``steps``, each record numbered as it is sent: a source's ids rise in send order."""
        for step in steps:
            if isinstance(step, SendGroup):
                for record in step.records:
                    self.population.number(record)
            yield step

    def send(self, at: float, crossing: str) -> list[SendGroup]:
        """The sends of the group due ``at`` s into the run at ``crossing``, in time order.

        Its records have no submission_id yet: :meth:`steps` numbers them as they go.
        """
        timing, rng = self.config.timing, self._rng(crossing)
        kind, delay = timing.draw(rng)
        location = self.reference.crossing(crossing).location
        source = timing.source_names(crossing, location)[kind]
        returned = self.start + timedelta(seconds=at - delay)
        records = self.population.group(crossing, returned, source=source, numbered=False)
        if timing.shuffle:
            rng.shuffle(records)
        offsets = timing.offsets(rng, len(records))
        if timing is not IMMEDIATE:  # before ADR 16 members could be sent before returning
            offsets = [
                max(offset, _late(record, returned) - delay)
                for offset, record in zip(offsets, records, strict=True)
            ]
        if not any(offsets):
            return [SendGroup(at, crossing, records)]
        end = max(at, self.config.duration - END_MARGIN)
        order = sorted((min(at + offset, end), index) for index, offset in enumerate(offsets))
        return [
            SendGroup(when, crossing, [records[index]], first=n == 0)
            for n, (when, index) in enumerate(order)
        ]

    def _rng(self, crossing: str) -> random.Random:
        # A stream of its own per crossing, so that timing leaves the people drawn alone.
        if crossing not in self._rngs:
            seed = f"{self.config.seed}:{crossing}:timing"
            self._rngs[crossing] = random.Random(seed)  # noqa: S311 (simulated data)
        return self._rngs[crossing]


def _late(record: Mapping[str, Any], returned: datetime) -> float:
    """Seconds from the group's return to this member's own ``returned_at``."""
    return (datetime.fromisoformat(record["returned_at"]) - returned).total_seconds()


class _Queue:
    """Steps in time order: the INM timeline's next event, pending sends and departures."""

    def __init__(self, timeline: Iterator[InmEvent]) -> None:
        self._timeline = timeline
        self._order = itertools.count()
        self._heap: list[tuple[float, int, bool, Step]] = []
        self._refill()

    def add(self, step: Step | None) -> None:
        """Queue a send or a departure (None: nothing to queue)."""
        if step is not None:
            heapq.heappush(self._heap, (step.at, next(self._order), False, step))

    def due(self, before: float) -> Iterator[Step]:
        """The queued steps due at or before ``before``, in time order."""
        while self._heap and self._heap[0][0] <= before:
            _, _, from_timeline, step = heapq.heappop(self._heap)
            if from_timeline:
                self._refill()
            yield step

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
