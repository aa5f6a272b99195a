"""Per-crossing figures of the last window, from observed events: what ``returns top`` shows."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.observe.events import Observation
from services.observe.journeys import STAGES, Journeys, Stage
from services.observe.windows import RecentIds, WindowedCounter, percentile

DECISIONS = ("accepted", "declined", "referred", "not_eligible")
DEFAULT_RATE_SECONDS = 10


@dataclass(frozen=True)
class CrossingFigures:
    """One crossing over the window: people in per second, decisions, p95 per stage.

    ``decisions`` counts ``screened`` events by decision; ``placed`` and ``deferred``
    count those events (a group deferred for one reason, then another, counts twice);
    ``p95`` and ``measured`` give, per stage, the 95th percentile of the
    latency in seconds (None: nothing measured) and how many groups it is over.
    """

    crossing: str
    per_second: float
    people: int
    decisions: Mapping[str, int]
    placed: int
    deferred: int
    p95: Mapping[Stage, float | None]
    measured: Mapping[Stage, int]


@dataclass(frozen=True)
class Snapshot:
    """Every crossing's figures at ``at``; ``events`` counts the events taken so far."""

    at: float
    window: float
    rate_seconds: int
    crossings: tuple[CrossingFigures, ...]
    events: int
    groups: int


class Observer:
    """Takes observations, in any order, and makes :class:`Snapshot` s of the last ``window`` s.

    ``crossings`` are shown even before any event (others appear when seen).
    Memory is bounded: anything older than the window is forgotten at each
    snapshot, and events older than the last snapshot's window (or than ``now`` minus
    the window) are ignored. ``observed_from``: when reading started from the end of
    the topics; rates then only count the whole seconds since.
    """

    def __init__(
        self,
        crossings: Sequence[str],
        window: float = 60.0,
        rate_seconds: int = DEFAULT_RATE_SECONDS,
        now: float | None = None,
        observed_from: float | None = None,
    ) -> None:
        self.window = window
        self.rate_seconds = max(1, min(rate_seconds, math.floor(window)))
        self._crossings = list(dict.fromkeys(crossings))
        self._counts = WindowedCounter(window)
        self._seen = RecentIds(window)
        self._journeys = Journeys(keep=window)
        self._floor = -math.inf if now is None else now - window
        self._observed_from = observed_from
        self.events = 0

    def add(self, event: Observation) -> None:
        """Take one event; a duplicate (same ``event_id``) or a too-old one is ignored."""
        if event.at < self._floor or not self._seen.first(event.event_id, event.at):
            return
        self.events += 1
        crossing = event.crossing
        if crossing is not None and crossing not in self._crossings:
            self._crossings.append(crossing)
        self._journeys.add(event)
        counted = _counted_as(event)
        if counted is not None and crossing is not None:
            self._counts.add((crossing, counted), event.at)

    def snapshot(self, now: float) -> Snapshot:
        """The figures of the ``window`` seconds before ``now``; forgets what is older."""
        self._floor = max(self._floor, now - self.window)
        self._counts.forget(now)
        self._seen.forget(now)
        self._journeys.forget(now)
        since = now - self.window
        latencies = {
            stage: self._journeys.latencies(stage, reached_since=since) for stage in STAGES
        }
        rows = tuple(self._figures(code, now, latencies) for code in self._crossings)
        return Snapshot(now, self.window, self.rate_seconds, rows, self.events, len(self._journeys))

    def _figures(
        self, crossing: str, now: float, latencies: Mapping[Stage, Mapping[str, list[float]]]
    ) -> CrossingFigures:
        def total(what: str) -> int:
            return self._counts.total((crossing, what), now, self.window)

        mine = {stage: latencies[stage].get(crossing, []) for stage in STAGES}
        return CrossingFigures(
            crossing=crossing,
            per_second=self._counts.rate(
                (crossing, "people"), now, self.rate_seconds, since=self._observed_from
            ),
            people=total("people"),
            decisions={kind: total(f"screened:{kind}") for kind in DECISIONS},
            placed=total("placed"),
            deferred=total("deferred"),
            p95={stage: percentile(values, 95) for stage, values in mine.items()},
            measured={stage: len(values) for stage, values in mine.items()},
        )


def _counted_as(event: Observation) -> str | None:
    if event.topic == "person-returned":
        return "people"
    if event.topic == "screened":
        return f"screened:{event.decision}"
    if event.topic == "placed":
        return "placed"
    if event.topic == "placement-deferred":
        return "deferred"
    return None
