"""Keys due at a time, per partition, derived from a table of "<partition> <time>" lines.

The table stays the state: key -> "<partition> <due time>" (`open_line`). This index is
derived from it, in memory: built from the table once, the first time it is needed after
partitions were assigned (by then faust has recovered the tables), and kept in step by
its owner on every key it opens or closes. A restart or a rebalance therefore costs one
pass over the table, and each event after that costs only the keys that are due.

It holds one entry per key, whatever the size of the table: intake's idempotency table
alone has one key per accepted submission. An entry is one tuple (due time as integer
microseconds since the epoch, key, partition), kept both in the key's slot and in its
partition's heap, so a key costs a tuple, an int and two references, not a datetime and
two tuples. That is still about 240 bytes a key, so a worker whose tables are on disk
keeps the index there too (`services.runtime.due_on_disk`, the same contract).

Screening's open groups (docs/adr/0027-deadline-index.md) and every table kept for a
retention (`services.runtime.retained`) use it. `DueHeap` is the plain form, for an
owner that keeps its own state and only needs its keys back in time order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, MutableMapping
from datetime import datetime
from typing import Protocol

from services.runtime.micros import from_micros, to_micros

Entry = tuple[int, str, int]
"""(due time in microseconds since the epoch, key, partition): ordered as the heaps pop."""


def open_line(partition: int, due_at: datetime) -> bytes:
    """The ``open`` table's value for a group of ``partition`` due at ``due_at``."""
    return f"{partition} {due_at.isoformat()}".encode()


def read_open_line(line: bytes) -> tuple[int, datetime]:
    owner, due_at = line.decode().split(" ", 1)
    return int(owner), datetime.fromisoformat(due_at)


class DueIndex(Protocol):
    """Keys by due time, per partition, derived from a table of "<partition> <time>"
    lines: `Deadlines` in the heap, `services.runtime.due_on_disk.DeadlinesOnDisk` in a
    database of the worker's own."""

    def forget(self) -> None: ...

    def opened(self, group_id: str, partition: int, due_at: datetime) -> None: ...

    def closed(self, group_id: str) -> None: ...

    def due(self, partition: int, by: datetime) -> Iterator[str]: ...


class Deadlines:
    """Open groups by due time, one heap per partition, derived from the ``open`` table.

    A group whose due time moved, or that was decided, leaves its old heap entry behind;
    an entry counts only while it matches the group's current due time, so stale ones are
    dropped when they reach the top.
    """

    def __init__(self, open_groups: MutableMapping[str, bytes]) -> None:
        self._open_groups = open_groups
        self._heaps: dict[int, list[Entry]] | None = None
        self._due: dict[str, Entry] = {}

    def forget(self) -> None:
        """Partitions were assigned: rebuild from the table before the next use."""
        self._heaps = None
        self._due = {}

    def opened(self, group_id: str, partition: int, due_at: datetime) -> None:
        """``group_id`` is open on ``partition`` (again, or with a new due time)."""
        heaps = self._built()
        entry = (to_micros(due_at), group_id, partition)
        if self._due.get(group_id) == entry:
            return
        self._due[group_id] = entry
        heapq.heappush(heaps.setdefault(partition, []), entry)

    def closed(self, group_id: str) -> None:
        """``group_id`` was decided: it is no longer waiting."""
        self._built()
        self._due.pop(group_id, None)

    def due(self, partition: int, by: datetime) -> Iterator[str]:
        """The open groups of ``partition`` due at or before ``by``, earliest first (ties
        by group id). The caller decides each one, and says so with `closed`, before
        asking for the next; a group it leaves open is not yielded again until the index
        is rebuilt."""
        limit = to_micros(by)
        while True:
            heap = self._built().get(partition)
            if not heap or heap[0][0] > limit:
                return
            entry = heap[0]
            group_id = entry[1]
            if self._due.get(group_id) == entry:
                yield group_id
            heap = self._built().get(partition)
            if heap and heap[0] == entry:
                heapq.heappop(heap)
                if self._due.get(group_id) == entry:
                    del self._due[group_id]

    def _built(self) -> dict[int, list[Entry]]:
        if self._heaps is None:
            self._heaps = {}
            # No copy of the table first: nothing can write to it during this loop, and
            # a copy would briefly hold every key and line of it a second time.
            for group_id, line in self._open_groups.items():
                partition, due_at = read_open_line(line)
                entry = (to_micros(due_at), group_id, partition)
                self._due[group_id] = entry
                self._heaps.setdefault(partition, []).append(entry)
            for heap in self._heaps.values():
                heapq.heapify(heap)
        return self._heaps


class DueHeap:
    """Keys by the time they fall due, earliest first (ties by key).

    A hint, not the state: an entry is never removed early, and a key may have several,
    so its owner checks each popped key against what it stores. An entry is one tuple of
    an integer (microseconds since the epoch) and the key: about 90 bytes, where a
    datetime and an object for each took about 200. Notify's legal-aid deadlines and
    the finished requests it deletes, and placement's ended records, are kept in these.
    """

    __slots__ = ("_heap",)

    def __init__(self, entries: Iterable[tuple[datetime, str]] = ()) -> None:
        self._heap = [(to_micros(at), key) for at, key in entries]
        heapq.heapify(self._heap)

    def __len__(self) -> int:
        return len(self._heap)

    def add(self, key: str, at: datetime) -> None:
        heapq.heappush(self._heap, (to_micros(at), key))

    def pop_due(self, now: datetime) -> str | None:
        """The next key due at or before `now`, taken off; None when none is."""
        if self._heap and self._heap[0][0] <= to_micros(now):
            return heapq.heappop(self._heap)[1]
        return None

    def popped_due(self, now: datetime) -> Iterator[tuple[datetime, str]]:
        """Every (time, key) due at or before `now`, earliest first, each taken off as
        it is yielded."""
        limit = to_micros(now)
        heap = self._heap
        while heap and heap[0][0] <= limit:
            micros, key = heapq.heappop(heap)
            yield from_micros(micros), key

    def next_at(self) -> datetime | None:
        """When the earliest entry falls due (None when there is none)."""
        return from_micros(self._heap[0][0]) if self._heap else None
