"""Where a worker keeps its tables between restarts: ``RETURNS_STORE``.

- ``rocksdb`` (the default): each table partition is a RocksDB database in the worker's
  ``datadir`` (faust's ``rocksdb://`` store on ``rocksdict``). faust records, in each
  database, the last changelog offset it holds, so a restarted worker reads back only
  what was written since, and a table's values live on disk, not in the heap.
- ``memory``: every table is a dict, read back from its whole changelog on every start.

faust's own rocksdb store is used with two changes (`LeanRocksDBStore`):
- its memory is capped for the whole process: one block cache and one memtable budget
  shared by every table partition, instead of faust's 2 GiB cache and 3 x 64 MiB
  memtables for each of them (a service holds some thirty);
- a read finds a key in whichever assigned partition holds it, like the memory store.
  faust's reads look only in the partition of the event being processed, so a table
  read while handling another topic's event (or a partition number that differs) would
  see nothing.

`values_with_prefix` reads the values of the keys that start with a prefix: a seek in
each database, where iterating the table walks (and decodes) every key of every partition.

One worker per ``datadir``: a database is locked while open, and the datadir is named
after the app and ``RETURNS_WORKER_NAME`` (services/runtime/faust_app.py), so two
workers of a service on one machine need different names. The changelog stays the
source of truth: deleting the datadir costs one full read of it, nothing else
(docs/adr/0032-persistent-state-and-retention.md).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator, Mapping, MutableMapping
from functools import cache
from pathlib import Path
from typing import Any

import rocksdict
from faust.stores import STORES
from faust.stores.rocksdb import (
    DEFAULT_BLOOM_FILTER_SIZE,
    DEFAULT_TARGET_FILE_SIZE_BASE,
    RocksDBOptions,
    Store,
)

from services.runtime.settings import ConfigurationError

STORES_BY_SETTING = {"rocksdb": "returns-rocksdb://", "memory": "memory://"}
DEFAULT_STORE = "rocksdb"
BLOCK_CACHE_BYTES = 8 * 1024**2  # shared by every table partition of the process (ADR 42)
MEMTABLE_BUDGET_BYTES = 32 * 1024**2  # idem: a flush to disk is forced past it
MEMTABLE_BYTES = 4 * 1024**2  # one partition's memtable


def store_url(env: Mapping[str, str] | None = None) -> str:
    """faust's ``store`` URL for ``RETURNS_STORE`` (``rocksdb`` or ``memory``)."""
    source = os.environ if env is None else env
    name = source.get("RETURNS_STORE", "") or DEFAULT_STORE
    try:
        url = STORES_BY_SETTING[name]
    except KeyError:
        choices = " or ".join(sorted(STORES_BY_SETTING))
        raise ConfigurationError(f"RETURNS_STORE must be {choices} (got {name!r})") from None
    STORES.aliases.setdefault("returns-rocksdb", f"{__name__}:LeanRocksDBStore")
    return url


@cache
def _shared_cache() -> rocksdict.Cache:
    return rocksdict.Cache(BLOCK_CACHE_BYTES)


@cache
def _shared_memtables() -> rocksdict.WriteBufferManager:
    return rocksdict.WriteBufferManager(MEMTABLE_BUDGET_BYTES, False)


def capped_options(
    max_open_files: int | None = None,
    target_file_size_base: int = DEFAULT_TARGET_FILE_SIZE_BASE,
    bloom_filter_size: int = DEFAULT_BLOOM_FILTER_SIZE,
) -> rocksdict.Options:
    """Options of a raw (bytes to bytes) database that uses the process-wide block cache
    and memtable budget, so that one more database adds no memory of its own."""
    options = rocksdict.Options(raw_mode=True)
    options.create_if_missing(True)
    if max_open_files is not None:
        options.set_max_open_files(max_open_files)
    options.set_write_buffer_size(MEMTABLE_BYTES)
    options.set_max_write_buffer_number(2)
    options.set_target_file_size_base(target_file_size_base)
    options.set_write_buffer_manager(_shared_memtables())
    table = rocksdict.BlockBasedOptions()
    table.set_bloom_filter(bloom_filter_size, block_based=True)
    table.set_block_cache(_shared_cache())
    table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
    options.set_block_based_table_factory(table)
    return options


class LeanOptions(RocksDBOptions):
    """faust's options, with the process-wide cache and memtable budget."""

    def as_options(self) -> rocksdict.Options:
        return capped_options(
            self.max_open_files, self.target_file_size_base, self.bloom_filter_size
        )


class LeanRocksDBStore(Store):
    """faust's rocksdb store on rocksdict, capped in memory, read in any partition."""

    def __init__(self, url: Any, app: Any, table: Any, **kwargs: Any) -> None:
        super().__init__(url, app, table, driver="rocksdict", **kwargs)
        self.rocksdb_options = LeanOptions(**(self.options or {}), use_rocksdict=True)

    def _get(self, key: bytes) -> bytes | None:
        found = self._get_bucket_for_key(key)
        return None if found is None else bytes(found[1])

    def _contains(self, key: bytes) -> bool:
        return self._get_bucket_for_key(key) is not None

    def values_with_prefix(self, prefix: str) -> Iterator[bytes]:
        """The raw values of the active partitions' keys that start with `prefix`.

        A seek to the prefix's bytes in each database, then the keys that follow while
        they share them: the keys are never decoded. That is exact for the table's key
        codec when it is json or raw (a ``str`` key is JSON here, in quotes): both encode
        a string one character at a time, each character's bytes a prefix of no other's.
        """
        start = self._key_bytes_prefix(prefix)
        for db in self._dbs_for_actives():
            for key, value in db.items(from_key=start):
                if not key.startswith(start):
                    break
                yield bytes(value)

    def _key_bytes_prefix(self, prefix: str) -> bytes:
        """What the bytes of every stored key that starts with `prefix` start with."""
        one, other = self._encode_key(prefix + "a"), self._encode_key(prefix + "b")
        common = 0
        while common < min(len(one), len(other)) and one[common] == other[common]:
            common += 1
        return one[:common]

    @property
    def seekable(self) -> bool:
        """Whether `values_with_prefix` holds for this table's codecs (see there)."""
        return self.key_serializer in ("json", "raw") and self.value_serializer == "raw"


def values_with_prefix(table: Any, prefix: str) -> Iterator[bytes]:
    """The values of a faust table of str keys and bytes values whose key starts with
    `prefix`: a seek on the rocksdb store; any other mapping (faust's memory store, a
    dict) is walked whole and filtered."""
    store = getattr(table, "data", None)
    if isinstance(store, LeanRocksDBStore) and store.seekable:
        yield from store.values_with_prefix(prefix)
        return
    for key, value in list(table.items()):
        if key.startswith(prefix):
            yield value


def scratch_database(path: Path) -> rocksdict.Rdict:
    """An empty raw database at `path` (whatever was there is deleted first) for what
    the process derives again whenever it starts: writes skip the write-ahead log, and
    it shares the process's block cache and memtable budget (`capped_options`)."""
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    db = rocksdict.Rdict(str(path), capped_options())
    unlogged = rocksdict.WriteOptions()
    unlogged.disable_wal = True  # type: ignore[method-assign,assignment]  # a property
    db.set_write_options(unlogged)
    return db


class ScratchMapping(MutableMapping[str, bytes]):
    """A ``str`` to ``bytes`` mapping kept in a RocksDB database of its own, for a cache
    too large for the heap that the process rebuilds from a topic whenever it starts.

    The database is opened on first use, and emptied then, so it never holds what a
    previous run read (the topic may have deleted it since). One process opens a path
    once. Writes skip the write-ahead log: a crash loses nothing that the next start does
    not read again. A deleted value leaves the disk at the next `settle`, which compacts
    the range of every key deleted since, at once: RocksDB would keep it in older files
    until a compaction reached them, and a deletion here is an erasure
    (docs/DATA-PROTECTION.md). It shares the process's block cache and memtable budget
    (`capped_options`). `len` walks every key: for commands, not for a record's path.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._opened: rocksdict.Rdict | None = None
        self._opening = threading.Lock()
        self._deleted: list[bytes] = []  # since the last settle

    @property
    def _db(self) -> rocksdict.Rdict:
        if self._opened is None:
            with self._opening:
                if self._opened is None:
                    self._opened = scratch_database(self.path)
        return self._opened

    def __getitem__(self, key: str) -> bytes:
        value = self._db.get(key.encode())
        if value is None:
            raise KeyError(key)
        return bytes(value)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._db.get(key.encode()) is not None

    def __setitem__(self, key: str, value: bytes) -> None:
        self._db.put(key.encode(), value)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        raw = key.encode()
        self._db.delete(raw)
        self._deleted.append(raw)

    def settle(self) -> None:
        """Compact the range of the keys deleted since the last call, so that their
        values leave the disk now: one compaction however many were deleted (it rewrites
        the files of that range, about 130 ms for 176,000 keys)."""
        if self._deleted:
            self._db.compact_range(min(self._deleted), max(self._deleted))
            self._deleted.clear()

    def __iter__(self) -> Iterator[str]:
        for key in self._db.keys():  # noqa: SIM118 (an Rdict is not iterable)
            if isinstance(key, bytes):  # always, in raw mode
                yield key.decode()

    def __len__(self) -> int:
        return sum(1 for _ in self._db.keys())  # noqa: SIM118

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None
