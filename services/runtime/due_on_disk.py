"""`Deadlines` kept on disk: the same index, in a RocksDB database of the worker's own.

In the heap, an index costs about 240 bytes a key, and every key of its table is in it:
intake's, over the 176,000 submissions of 100,000 groups, took 43 MB, built on the first
submission after a restart (docs/adr/0045-deadline-indexes-on-disk.md). Here it is one
database per index, under the worker's datadir, shared cache and memtable budget
(`services.runtime.stores.scratch_database`), emptied and written again from the table
whenever the index is rebuilt, like the heaps.

An entry is a database key alone: the partition (2 bytes), the due time (8 bytes,
microseconds since the epoch, offset so that they sort as numbers) and the table's key,
so a partition's entries sort by due time, then key, as the heaps pop. The table stays
the state: an entry counts only while the table still holds its key with that partition
and time, so an entry left behind by a key that moved or closed is dropped when it comes
due, without being yielded. A partition's read starts where its previous one stopped,
so the deleted entries before it are never scanned again.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, MutableMapping
from datetime import datetime
from pathlib import Path

import rocksdict

from services.runtime.due import Deadlines, DueIndex, read_open_line
from services.runtime.micros import to_micros
from services.runtime.stores import scratch_database

_HEAD = struct.Struct(">HQ")  # partition, due time + _OFFSET
_OFFSET = 1 << 63  # a time before the epoch still sorts first
_WRITTEN_PER_BATCH = 10_000  # a rebuild's writes, a batch at a time


def due_index(table: MutableMapping[str, bytes], path: Path | None) -> DueIndex:
    """The index of `table`'s "<partition> <time>" lines: on disk at `path`, or in the
    heap when there is none (``RETURNS_STORE=memory``, tests, the audit)."""
    return Deadlines(table) if path is None else DeadlinesOnDisk(table, path)


def index_path(indexes_at: Path | None, name: str) -> Path | None:
    """Where the index `name` is kept under `indexes_at`; None (in the heap) without."""
    return None if indexes_at is None else indexes_at / name


def _entry(partition: int, micros: int, key: str) -> bytes:
    return _HEAD.pack(partition, micros + _OFFSET) + key.encode()


def _read_entry(entry: bytes) -> tuple[int, int, str]:
    partition, shifted = _HEAD.unpack_from(entry)
    return partition, shifted - _OFFSET, entry[_HEAD.size :].decode()


class DeadlinesOnDisk:
    """Keys by due time, per partition, derived from a table of "<partition> <time>"
    lines; `Deadlines`'s contract, its entries in a database at `path`."""

    def __init__(self, table: MutableMapping[str, bytes], path: Path) -> None:
        self._table = table
        self.path = path
        self._db: rocksdict.Rdict | None = None  # None: rebuild before the next use
        self._floors: dict[int, bytes] = {}  # where each partition's next read starts

    def forget(self) -> None:
        """Partitions were assigned: rebuild from the table before the next use."""
        self.close()

    def opened(self, key: str, partition: int, due_at: datetime) -> None:
        """`key` is open on `partition` (again, or with a new due time)."""
        entry = _entry(partition, to_micros(due_at), key)
        self._built().put(entry, b"")
        floor = self._floors.get(partition)
        if floor is not None and entry < floor:
            self._floors[partition] = entry

    def closed(self, key: str) -> None:
        """`key` left the table: its entry is dropped when it comes due."""
        self._built()

    def due(self, partition: int, by: datetime) -> Iterator[str]:
        """The keys of `partition` due at or before `by`, earliest first (ties by key),
        as `Deadlines.due`: the caller acts on each before asking for the next."""
        limit = to_micros(by)
        while True:
            db = self._built()
            start = self._floors.get(partition) or _HEAD.pack(partition, 0)
            found = db.iter()
            found.seek(start)
            if not found.valid():
                return
            entry = bytes(found.key())
            owner, micros, key = _read_entry(entry)
            if owner != partition or micros > limit:
                return
            line = self._table.get(key)
            if line is not None and self._matches(line, partition, micros):
                yield key
            if self._db is db:  # not rebuilt meanwhile
                db.delete(entry)
                self._floors[partition] = entry

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._floors = {}

    @staticmethod
    def _matches(line: bytes, partition: int, micros: int) -> bool:
        owner, due_at = read_open_line(line)
        return owner == partition and to_micros(due_at) == micros

    def _built(self) -> rocksdict.Rdict:
        if self._db is None:
            db = scratch_database(self.path)
            batch = rocksdict.WriteBatch(raw_mode=True)
            for n, (key, line) in enumerate(self._table.items(), 1):
                partition, due_at = read_open_line(line)
                batch.put(_entry(partition, to_micros(due_at), key), b"")
                if n % _WRITTEN_PER_BATCH == 0:
                    db.write(batch)
                    batch = rocksdict.WriteBatch(raw_mode=True)
            db.write(batch)
            db.flush()  # the entries to disk, the memtable emptied
            self._db = db
        return self._db
