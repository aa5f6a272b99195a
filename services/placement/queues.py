"""The unit's queues in memory: waiting groups per location, in arrival order, from their records.

The table holds each waiting group's place in line in its own record (`Wait.sequence`);
nothing in the table lists a queue. This index is derived from the records: built once
per unit, on first use after the store was created or partitions were assigned (faust
has recovered the table by then), and replaced by the writer with the queues each
command leaves, once the command's writes are in the table. It belongs to one
`applied_offset` of the unit: a unit value written by anyone else (another worker, a
crash's redo) does not match it, and the index is built again.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import chain
from typing import overload

from services.placement.policy import Settled
from services.placement.records import GroupRecord

CHUNK = 512
"""Groups per chunk of a `Line`: a command copies the chunks it changes, not the queue."""


def sequence_of(record: GroupRecord) -> int:
    return record.waits.sequence


class Line(Sequence[GroupRecord]):
    """Waiting groups in `Wait.sequence` order, kept in chunks.

    A `copy` shares every chunk with the original and copies one only when it changes it,
    so a command that changes a few groups of a long queue copies a few chunks (and the
    list of chunks), not the queue. Groups join only at the end (the highest sequence).
    """

    def __init__(self, groups: Iterable[GroupRecord] = ()) -> None:
        ordered = list(groups)
        self._chunks = [ordered[n : n + CHUNK] for n in range(0, len(ordered), CHUNK)]
        self._owned = {id(chunk) for chunk in self._chunks}
        self._starts: list[int] | None = None
        self._len = len(ordered)

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, n: int) -> GroupRecord: ...

    @overload
    def __getitem__(self, n: slice) -> Sequence[GroupRecord]: ...

    def __getitem__(self, n: int | slice) -> GroupRecord | Sequence[GroupRecord]:
        if isinstance(n, slice):
            return list(self)[n]
        if n < 0:
            n += self._len
        if not 0 <= n < self._len:
            raise IndexError(n)
        c = self._chunk_at(n)
        return self._chunks[c][n - self._start_of(c)]

    def __iter__(self) -> Iterator[GroupRecord]:
        return chain.from_iterable(self._chunks)

    def position(self, group_id: str, sequence: int) -> int | None:
        """Where the group waiting with `sequence` stands (0 is the head), if it does."""
        c = bisect_left(self._chunks, sequence, key=lambda chunk: sequence_of(chunk[-1]))
        if c == len(self._chunks):
            return None
        chunk = self._chunks[c]
        i = bisect_left(chunk, sequence, key=sequence_of)
        if i < len(chunk) and chunk[i].group_id == group_id:
            return self._start_of(c) + i
        return None

    def copy(self) -> Line:
        line = Line()
        line._chunks = list(self._chunks)
        line._starts = self._starts
        line._len = self._len
        return line

    def append(self, record: GroupRecord) -> None:
        if self._chunks and sequence_of(record) <= sequence_of(self._chunks[-1][-1]):
            raise ValueError(f"group {record.group_id} joins the queue out of order")
        if not self._chunks or len(self._chunks[-1]) >= CHUNK:
            self._chunks.append([])
            self._owned.add(id(self._chunks[-1]))
        self._own(len(self._chunks) - 1).append(record)
        self._len += 1
        self._starts = None

    def put(self, n: int, record: GroupRecord) -> None:
        """`record` in place of the group at `n` (a new version of the same group)."""
        c = self._chunk_at(n)
        self._own(c)[n - self._start_of(c)] = record

    def pop(self, n: int) -> GroupRecord:
        c = self._chunk_at(n)
        chunk = self._own(c)
        record = chunk.pop(n - self._start_of(c))
        if not chunk:
            del self._chunks[c]
        self._len -= 1
        self._starts = None
        return record

    def _own(self, c: int) -> list[GroupRecord]:
        chunk = self._chunks[c]
        if id(chunk) not in self._owned:
            chunk = self._chunks[c] = list(chunk)
            self._owned.add(id(chunk))
        return chunk

    def _starts_list(self) -> list[int]:
        if self._starts is None:
            starts, total = [], 0
            for chunk in self._chunks:
                starts.append(total)
                total += len(chunk)
            self._starts = starts
        return self._starts

    def _chunk_at(self, n: int) -> int:
        return bisect_right(self._starts_list(), n) - 1

    def _start_of(self, c: int) -> int:
        return self._starts_list()[c]


@dataclass
class LocationQueue:
    """One location's waiting groups by `Wait.sequence`, and what its last drain settled."""

    groups: Line = field(default_factory=Line)
    settled: Settled | None = None

    def __len__(self) -> int:
        return len(self.groups)

    @property
    def head(self) -> GroupRecord | None:
        return self.groups[0] if self.groups else None

    def position(self, group_id: str, sequence: int) -> int | None:
        """Where the group waiting with `sequence` stands (0 is the head), if it does."""
        return self.groups.position(group_id, sequence)

    def copy(self) -> LocationQueue:
        return replace(self, groups=self.groups.copy())


@dataclass
class UnitQueues:
    """Every queue of one unit, as of the unit's `applied_offset`."""

    applied_offset: int
    locations: dict[str, LocationQueue] = field(default_factory=dict)

    def queue(self, code: str) -> LocationQueue:
        return self.locations.get(code) or LocationQueue()

    def installed(self, applied_offset: int, changed: Mapping[str, LocationQueue]) -> None:
        """The queues a command left, now that its unit value at `applied_offset` is written."""
        self.applied_offset = applied_offset
        for code, queue in changed.items():
            if queue.groups:
                self.locations[code] = queue
            else:
                self.locations.pop(code, None)

    @classmethod
    def built(cls, records: Iterable[GroupRecord], applied_offset: int) -> UnitQueues:
        """The queues of the valid records among `records` (every record of one unit)."""
        by_location: dict[str, list[GroupRecord]] = {}
        for stored in records:
            record = stored.valid_at(applied_offset)
            if record is None or record.status != "waiting" or record.wait is None:
                continue
            by_location.setdefault(record.home, []).append(replace(record, previous=None))
        locations = {
            code: LocationQueue(Line(sorted(groups, key=sequence_of)))
            for code, groups in sorted(by_location.items())
        }
        return cls(applied_offset, locations)
