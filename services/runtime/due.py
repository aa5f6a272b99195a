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
two tuples.

Screening's open groups (docs/adr/0027-deadline-index.md) and every table kept for a
retention (`services.runtime.retained`) use it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, MutableMapping
from datetime import datetime

from services.runtime.micros import to_micros

Entry = tuple[int, str, int]
"""(due time in microseconds since the epoch, key, partition): ordered as the heaps pop."""


def open_line(partition: int, due_at: datetime) -> bytes:
    """The ``open`` table's value for a group of ``partition`` due at ``due_at``."""
    return f"{partition} {due_at.isoformat()}".encode()


def read_open_line(line: bytes) -> tuple[int, datetime]:
    owner, due_at = line.decode().split(" ", 1)
    return int(owner), datetime.fromisoformat(due_at)


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
