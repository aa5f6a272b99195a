"""When a legal-aid request is due and by when it must be accepted, and the index of
those deadlines that the decisions agent consults on each clock tick.

Pure: times go in, times come out. The index holds what the `requests` table says
(tracker.py rebuilds it from the table after a rebalance), sorted by time, so that a
tick looks only at the deadlines that have passed, never at every open request.
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from schemas.requests import Priority, Purpose
from services.runtime.due import DueHeap
from services.runtime.settings import ConfigurationError, positive_number

INTERVIEW_DUE_WITHIN = timedelta(hours=24)
"""A non-refoulement interview is due this long after the group's return (the contract's)."""

DeadlineKind = Literal["accept", "due"]


@dataclass(frozen=True)
class DeadlinePolicy:
    """How long a provider has: to make first contact (`due_by`), and to accept the
    request (`accept_by`) before it goes to another provider.

    - interview: due 24 h after the return (fixed by the contract), accepted within
      `RETURNS_LEGAL_AID_INTERVIEW_ACCEPT_MINUTES` (60);
    - urgent hearing: due `RETURNS_LEGAL_AID_URGENT_HOURS` (72) after it is issued;
    - normal hearing: due `RETURNS_LEGAL_AID_NORMAL_HOURS` (240) after it is issued;
    - hearings accepted within `RETURNS_LEGAL_AID_ACCEPT_MINUTES` (120).
    """

    urgent_due: timedelta = timedelta(hours=72)
    normal_due: timedelta = timedelta(hours=240)
    accept_within: timedelta = timedelta(minutes=120)
    interview_accept_within: timedelta = timedelta(minutes=60)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DeadlinePolicy:
        """The policy from the variables above (fractions allowed, so that tests can use
        seconds); raises `ConfigurationError` naming every bad one."""
        env = os.environ if environ is None else environ
        problems: list[str] = []

        def read(name: str, default: timedelta, unit: timedelta) -> timedelta:
            return unit * positive_number(env, name, default / unit, problems)

        hour, minute = timedelta(hours=1), timedelta(minutes=1)
        policy = cls(
            urgent_due=read("RETURNS_LEGAL_AID_URGENT_HOURS", cls.urgent_due, hour),
            normal_due=read("RETURNS_LEGAL_AID_NORMAL_HOURS", cls.normal_due, hour),
            accept_within=read("RETURNS_LEGAL_AID_ACCEPT_MINUTES", cls.accept_within, minute),
            interview_accept_within=read(
                "RETURNS_LEGAL_AID_INTERVIEW_ACCEPT_MINUTES", cls.interview_accept_within, minute
            ),
        )
        if problems:
            raise ConfigurationError("; ".join(problems))
        return policy

    def due_by(
        self, purpose: Purpose, priority: Priority, issued_at: datetime, returned_at: datetime
    ) -> datetime:
        """First contact is due by then: an interview 24 h after the return, a hearing
        request after its priority's time from when it is issued."""
        if purpose == "non_refoulement_interview":
            return returned_at + INTERVIEW_DUE_WITHIN
        return issued_at + (self.urgent_due if priority == "urgent" else self.normal_due)

    def accept_by(self, purpose: Purpose, offered_at: datetime) -> datetime:
        """The provider offered the request at `offered_at` must accept it by then."""
        within = (
            self.interview_accept_within
            if purpose == "non_refoulement_interview"
            else self.accept_within
        )
        return offered_at + within


DEFAULT_POLICY = DeadlinePolicy()


@dataclass(order=True, frozen=True)
class Deadline:
    """One deadline of one request; the index orders them by time."""

    at: datetime
    kind: DeadlineKind
    request_event_id: str


class DeadlineIndex:
    """Deadlines per partition, by time; `passed` takes off those at or before now.

    Entries are never removed early: the caller checks each popped one against the
    request's current state (accepted, withdrawn...) and ignores those that no longer
    apply. A partition's entries are `load`ed once after each assignment. Each is kept
    as a request id in its partition's heap for its kind (a `DueHeap`), not as a
    `Deadline`: an open request costs two small tuples.
    """

    def __init__(self) -> None:
        self._heaps: dict[Hashable, dict[DeadlineKind, DueHeap]] = {}

    def loaded(self, partition: Hashable) -> bool:
        return partition in self._heaps

    def load(self, partition: Hashable, deadlines: Iterable[Deadline]) -> None:
        by_kind: dict[DeadlineKind, list[tuple[datetime, str]]] = {}
        for deadline in deadlines:
            by_kind.setdefault(deadline.kind, []).append((deadline.at, deadline.request_event_id))
        self._heaps[partition] = {kind: DueHeap(entries) for kind, entries in by_kind.items()}

    def add(self, partition: Hashable, deadline: Deadline) -> None:
        heaps = self._heaps.setdefault(partition, {})
        heap = heaps.get(deadline.kind)
        if heap is None:
            heap = heaps[deadline.kind] = DueHeap()
        heap.add(deadline.request_event_id, deadline.at)

    def passed(self, partition: Hashable, now: datetime) -> list[Deadline]:
        """The deadlines of `partition` at or before `now`, earliest first, removed."""
        found = [
            Deadline(at, kind, request_event_id)
            for kind, heap in self._heaps.get(partition, {}).items()
            for at, request_event_id in heap.popped_due(now)
        ]
        return sorted(found)

    def next_at(self, partition: Hashable) -> datetime | None:
        times = [heap.next_at() for heap in self._heaps.get(partition, {}).values()]
        return min((at for at in times if at is not None), default=None)

    def forget(self) -> None:
        """Drop every partition (after a rebalance they are loaded again)."""
        self._heaps.clear()
