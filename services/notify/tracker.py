"""The legal-aid requests notify tracks, their deadlines and their providers' capacity.

- `requests` (key: the `legal-aid-requested` event id): a :class:`TrackedRequest`, from
  its issue to its end (closed, declined, withdrawn, replaced), and for `retain` (30
  days) after: then a clock tick deletes it (a tombstone on the changelog), so that the
  scan after an assignment reads open work and recent history, not all history. It is
  what a restart knows of every deadline: nothing is a timer in memory.
- `capacity` (key `<partition>/<provider id>`): a provider's capacity as the last
  `provider-capacity-changed` copied to that partition set it (else its reference value).

Only the decisions agent writes them. In memory it keeps what it can rebuild from
`requests` after a rebalance: the :class:`DeadlineIndex` of each partition, the finished
requests by the time they expire, and the overdue requests per location behind the
`returns_legal_aid_overdue` gauge.

What this expiry does not delete: `issued` keeps what each input caused, and `groups`
each group's decisions, for their own, longer retention (memory.py), so an old decision
read again is still recognised and re-sends its stored requests, never issuing them
anew; a partner's report on an expired request is refused as `unknown_request`
(docs/adr/0031-notify-wiring-and-retention.md, docs/adr/0039).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from datetime import datetime, timedelta

from schemas.envelope import Envelope, utc_now
from schemas.requests import LegalAidRequested
from services.notify import metrics
from services.notify.deadlines import Deadline, DeadlineIndex
from services.notify.progress import TrackedRequest, finished_on, pending_deadlines
from services.runtime.due import DueHeap
from services.runtime.memory import release_free_memory
from services.runtime.metrics import code as location_label

log = logging.getLogger(__name__)
Table = MutableMapping[str, bytes]
DEFAULT_RETAIN = timedelta(days=30)
EXPIRED_PER_TICK = 500
"""Deletes one tick makes in a partition at most, so that a backlog (the first ticks
after an upgrade, or after a long stop) is worked off over several ticks instead of
stalling the decisions agent in one."""


def capacity_key(partition: int, provider_id: str) -> str:
    return f"{partition}/{provider_id}"


class RequestTracker:
    """The `requests` and `capacity` tables, and the index of their deadlines."""

    def __init__(
        self,
        requests: Table,
        capacity: Table,
        *,
        retain: timedelta = DEFAULT_RETAIN,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._requests, self._capacity = requests, capacity
        self._retain, self._clock = retain, clock
        self.index = DeadlineIndex()
        self._expiring: dict[int, DueHeap] = {}
        self._late: dict[int, Counter[str]] = {}
        self._loaded = False

    def get(self, event_id: str) -> TrackedRequest | None:
        raw = self._requests.get(event_id)
        return None if raw is None else TrackedRequest.model_validate_json(raw)

    def opened(
        self, envelope: Envelope[LegalAidRequested], partition: int, trace: str | None = None
    ) -> TrackedRequest:
        """Track a request just issued (or re-issued by a replay: then kept as it is),
        sent continuing the trace `trace`."""
        known = self.get(envelope.event_id)
        if known is not None:
            return known
        tracked = TrackedRequest(
            event_id=envelope.event_id,
            partition=partition,
            crossing=envelope.crossing,
            issued_at=envelope.occurred_at,
            request=envelope.data,
            trace=trace,
        )
        self.put(tracked)
        return tracked

    def put(self, tracked: TrackedRequest) -> None:
        """Store `tracked`, index its new deadlines and count it if it is late."""
        self.ensure(tracked.partition)
        before = self.get(tracked.event_id)
        if tracked.finished and tracked.finished_at is None:
            tracked = finished_on(tracked, self._clock())
            self._expire_later(tracked)
        self._requests[tracked.event_id] = tracked.to_bytes()
        was_late = before is not None and before.late
        if was_late != tracked.late:
            self._count(tracked.partition, tracked.request.location, 1 if tracked.late else -1)
        known = set() if before is None else set(pending_deadlines(before))
        for deadline in pending_deadlines(tracked):
            if deadline not in known:
                self.index.add(tracked.partition, deadline)

    def ensure(self, partition: int) -> None:
        """Load every partition's deadlines and late requests from the table, in one scan
        after each assignment (never repeated per tick)."""
        if self._loaded:
            return
        deadlines: dict[int, list[Deadline]] = {}
        stamped: list[TrackedRequest] = []  # written once the scan is over
        for tracked in self.all_tracked():
            if tracked.finished:
                if tracked.finished_at is None:  # stored before finishing was stamped
                    tracked = finished_on(tracked, self._clock())
                    stamped.append(tracked)
                self._expire_later(tracked)
            if tracked.ended is not None:
                continue
            deadlines.setdefault(tracked.partition, []).extend(pending_deadlines(tracked))
            if tracked.late:
                late = self._late.setdefault(tracked.partition, Counter())
                late[location_label(tracked.request.location)] += 1
        for tracked in stamped:
            self._requests[tracked.event_id] = tracked.to_bytes()
        for number, found in deadlines.items():
            self.index.load(number, found)
        self._loaded = True
        release_free_memory()  # what the scan parsed and let go
        for location in {label for late in self._late.values() for label in late}:
            self._publish_gauge(location)

    def passed(self, partition: int, now: datetime) -> list[Deadline]:
        self.ensure(partition)
        return self.index.passed(partition, now)

    def expire(self, partition: int, now: datetime, limit: int = EXPIRED_PER_TICK) -> int:
        """Delete the requests of `partition` finished for longer than `retain` by
        `now`, at most `limit` (the rest on the next calls); returns how many."""
        self.ensure(partition)
        heap = self._expiring.get(partition)
        gone = 0
        while heap is not None and gone < limit and (event_id := heap.pop_due(now)) is not None:
            tracked = self.get(event_id)
            if tracked is None or tracked.finished_at is None:
                continue
            if tracked.finished_at + self._retain <= now:
                del self._requests[event_id]
                gone += 1
        if gone:
            log.info("partition %d: %d finished request(s) past retention deleted", partition, gone)
        return gone

    def forget(self) -> None:
        """After a rebalance: drop what is kept in memory (the gauge included)."""
        locations = {location for late in self._late.values() for location in late}
        self._expiring.clear()
        self.index.forget()
        self._late.clear()
        self._loaded = False
        for location in locations:
            self._publish_gauge(location)

    def capacity(self, partition: int, provider_ids: Iterable[str]) -> dict[str, int]:
        """Provider id -> capacity changed on `partition` (absent: the reference one)."""
        found = {}
        for provider_id in provider_ids:
            raw = self._capacity.get(capacity_key(partition, provider_id))
            if raw is not None:
                found[provider_id] = int(raw)
        return found

    def set_capacity(self, partition: int, provider_id: str, capacity: int) -> None:
        self._capacity[capacity_key(partition, provider_id)] = str(capacity).encode()

    def all_tracked(self) -> Iterator[TrackedRequest]:
        """Every request in the table (the ops page's view; never called per event), one
        at a time: at 100,000 groups the table holds about 69,000 requests, 55 MB."""
        for raw in self._requests.values():
            yield TrackedRequest.model_validate_json(raw)

    def _expire_later(self, tracked: TrackedRequest) -> None:
        assert tracked.finished_at is not None
        heap = self._expiring.get(tracked.partition)
        if heap is None:
            heap = self._expiring[tracked.partition] = DueHeap()
        heap.add(tracked.event_id, tracked.finished_at + self._retain)

    def _count(self, partition: int, location: str | None, delta: int) -> None:
        label = location_label(location)
        late = self._late.setdefault(partition, Counter())
        late[label] = max(0, late[label] + delta)
        if delta > 0:
            metrics.BECAME_OVERDUE.labels(location=label).inc()
        self._publish_gauge(label)

    def _publish_gauge(self, label: str) -> None:
        total = sum(late.get(label, 0) for late in self._late.values())
        metrics.OVERDUE.labels(location=label).set(total)
