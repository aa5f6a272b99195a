"""Each group's way through the pipeline, joined by ``group_id`` across the topics.

A group's clock starts at its first ``person-returned`` (when intake accepted its
first member) and each stage is the ``occurred_at`` of the first event that reached
it. Only *complete* groups are measured: every member's ``person-returned`` was seen
and screening did not close the group as incomplete. An incomplete group waits for
screening's whole window by design, and a group whose first members came before the
reader started would look faster than it was; both would only blur the figure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from services.observe.events import Observation

Stage = Literal["screened", "placement", "placed", "legal_aid"]
STAGES: tuple[Stage, ...] = ("screened", "placement", "placed", "legal_aid")

# ``placement`` is placement's first decision: ``placed`` or ``placement-deferred``.
_REACHES: dict[str, tuple[Stage, ...]] = {
    "screened": ("screened",),
    "placed": ("placement", "placed"),
    "placement-deferred": ("placement",),
    "legal-aid-requested": ("legal_aid",),
}


@dataclass
class Journey:
    """What was seen of one group so far."""

    group_id: str
    crossing: str | None = None
    group_size: int | None = None
    members: set[str] = field(default_factory=set)
    first_returned: float | None = None
    reached: dict[Stage, float] = field(default_factory=dict)
    decision: str | None = None
    closed_incomplete: bool = False
    last_seen: float = 0.0

    @property
    def complete(self) -> bool:
        """Every member was seen, and screening decided the group as a whole."""
        return (
            self.group_size is not None
            and len(self.members) >= self.group_size
            and not self.closed_incomplete
        )

    def latency(self, stage: Stage) -> float | None:
        """Seconds from the first ``person-returned`` to ``stage``; None if not measurable."""
        reached = self.reached.get(stage)
        if reached is None or self.first_returned is None or not self.complete:
            return None
        return max(0.0, reached - self.first_returned)

    def take(self, event: Observation) -> None:
        """Record ``event`` (of this group)."""
        self.crossing = self.crossing or event.crossing
        self.last_seen = max(self.last_seen, event.at)
        if event.topic == "person-returned":
            self.members.add(event.event_id)
            self.group_size = event.group_size or self.group_size
            if self.first_returned is None or event.at < self.first_returned:
                self.first_returned = event.at
            return
        if event.topic == "screened" and "screened" not in self.reached:
            self.decision = event.decision
            self.closed_incomplete = event.incomplete
        for stage in _REACHES.get(event.topic, ()):
            if stage not in self.reached or event.at < self.reached[stage]:
                self.reached[stage] = event.at


class Journeys:
    """The journeys of recent groups; a group is forgotten ``keep`` seconds after its last event.

    ``keep=None`` keeps every group (a bounded run, such as a load test).
    """

    def __init__(self, keep: float | None) -> None:
        self.keep = keep
        self._groups: dict[str, Journey] = {}

    def add(self, event: Observation) -> None:
        """Join ``event`` to its group's journey (events of other topics are ignored)."""
        if event.topic != "person-returned" and event.topic not in _REACHES:
            return
        journey = self._groups.get(event.group_id)
        if journey is None:
            journey = self._groups[event.group_id] = Journey(event.group_id)
        journey.take(event)

    def forget(self, now: float) -> int:
        """Drop the groups idle for more than ``keep`` seconds; how many were dropped."""
        if self.keep is None:
            return 0
        since = now - self.keep
        stale = [gid for gid, journey in self._groups.items() if journey.last_seen < since]
        for group_id in stale:
            del self._groups[group_id]
        return len(stale)

    def latencies(
        self,
        stage: Stage,
        *,
        reached_since: float | None = None,
        started_in: tuple[float, float] | None = None,
    ) -> dict[str, list[float]]:
        """Latencies to ``stage`` of complete groups, per crossing.

        ``reached_since``: only groups that reached the stage at or after it (a live
        window); ``started_in``: only groups whose first member came in ``[start, end)``
        (a phase of a load run).
        """
        found: dict[str, list[float]] = {}
        for journey in self:
            latency = journey.latency(stage)
            if latency is None or journey.crossing is None:
                continue
            if reached_since is not None and journey.reached[stage] < reached_since:
                continue
            if started_in is not None and not _within(journey.first_returned, started_in):
                continue
            found.setdefault(journey.crossing, []).append(latency)
        return found

    def get(self, group_id: str) -> Journey | None:
        """The journey of ``group_id``, if it is known."""
        return self._groups.get(group_id)

    def __iter__(self) -> Iterator[Journey]:
        return iter(self._groups.values())

    def __len__(self) -> int:
        return len(self._groups)


def _within(at: float | None, span: tuple[float, float]) -> bool:
    return at is not None and span[0] <= at < span[1]
