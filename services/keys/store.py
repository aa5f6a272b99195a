"""Each case's data key: written to, read from and erased on the compacted ``person-keys`` topic.

Every process that seals or opens personal data keeps a `KeyStore`: a cache of the key
topic (wrapped keys, and the few it has unwrapped), fed by `refresh`. Readers refresh
when a key is missing (and the audit and console once per pass); intake refreshes when
its lanes change hands and before it seals with a key it knows. The rules that make the
cache safe to trust (docs/adr/0021, docs/adr/0034):

- intake writes a case's key, and waits for the broker's ack, *before* it publishes any
  record sealed with it; so a reader that misses a key reads the topic to its end, and a
  key still missing then was erased (its tombstone may even be compacted away by now);
- a case's records share its group and so its lane: one intake worker at a time creates
  a case's key. A worker that takes lanes over calls `lanes_changed` at once and then
  `refresh`; until a refresh has read the topic to its end, `key_for_sealing` reads it
  first, so no key written by the lane's previous worker is missed. After that, a case
  with no key here has none on the topic either (or only an erased one), and
  `key_for_sealing` writes its new key without reading the topic: one round trip;
- a case whose key is here may have been erased since (``returns erase`` writes the
  tombstone from another process), so `key_for_sealing` refreshes before sealing with
  it; a tombstone removes the key from every cache at its next `refresh`. The tombstone
  of a case not cached here needs no reading: the case gets a new key either way;
- a store's own writes are in its cache already: its log may leave them out of
  `KeyLog.catch_up` rather than read them back.

The cache holds every live case's wrapped key (a process sees every case of its lanes,
and the audit every case), so each is kept packed (`WrappedKeys`: one bytes object a
case, no parsed record), and only the most recently used `UNWRAPPED_KEYS` are kept
unwrapped: unwrapping another again is one AES-GCM decryption with the KEK. A worker
keeps the packed keys on disk (`slots`, docs/adr/0044-the-key-cache-on-disk.md), emptied
when it starts: the topic, read again from its start, stays the only source.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from pydantic import ValidationError

from schemas.sealed import WrappedDataKey
from services.keys import crypto
from services.keys.keyring import Keyring
from services.keys.packed import WrappedKeys
from services.runtime.memory import release_free_memory

KeyRecord = tuple[str, bytes | None]
"""(case id, value) of one ``person-keys`` record; a None value is a tombstone."""


class KeyLog(Protocol):
    """The key topic, as the store needs it."""

    def catch_up(self) -> Iterable[KeyRecord]:
        """Every record not returned before, up to the topic's current end; records this
        log wrote itself may be left out (the store applied them when it wrote them)."""

    def write(self, case_id: str, value: bytes | None) -> None:
        """Write one record (None: a tombstone) and return once the broker has it."""


UNWRAPPED_KEYS = 4096
"""How many unwrapped data keys a store keeps, the most recently used: enough for the
cases in flight at once, while the wrapped keys of every case stay cached."""

RELEASE_AFTER = 10_000
"""A refresh that applied at least this many records (a worker's first read of a large
key topic) gives the heap they left free back to the system."""


@dataclass(frozen=True)
class Erased:
    """A case's personal data that can no longer be read: its data key was erased."""

    case_id: str
    event_id: str | None = None


class KeyStore:
    """The data keys of every case, cached from the key log; thread-safe."""

    def __init__(
        self,
        log: KeyLog,
        keyring: Keyring,
        clock: Callable[[], datetime] | None = None,
        unwrapped_keys: int = UNWRAPPED_KEYS,
        slots: MutableMapping[str, bytes] | None = None,
    ) -> None:
        self.log = log
        self.keyring = keyring
        self.clock = clock or (lambda: datetime.now(UTC))
        self.unwrapped_keys = unwrapped_keys
        self._wrapped = WrappedKeys(slots)  # slots: where the packed keys live (or a dict)
        self._unwrapped: OrderedDict[str, tuple[str, bytes]] = OrderedDict()  # LRU first
        self._lock = threading.RLock()
        self._takeovers = 1  # how many times lanes changed hands (once: at the start)
        self._read_after = 0  # the last of those that a refresh began after

    def lanes_changed(self) -> None:
        """Lanes were (re)assigned: keys written by their previous worker may be missing
        here, so no key is created before a `refresh` begun after this call has read the
        topic to its end. Called from one thread (the event loop); takes no lock, so it
        never waits behind a write in progress."""
        self._takeovers += 1

    def refresh(self) -> None:
        """Apply what the key topic got since the last call: new keys and erasures."""
        with self._lock:
            began_after = self._takeovers  # a takeover during this read is not covered
            applied = 0
            try:
                for case_id, value in _one_by_one(self.log.catch_up()):
                    self._apply(case_id, value)
                    applied += 1
            finally:
                self._wrapped.settle()  # the erased keys leave the disk cache, at once
            self._read_after = began_after
        if applied >= RELEASE_AFTER:
            release_free_memory()  # what reading them left free, scattered in the heap

    def caught_up(self) -> bool:
        """Whether a refresh has read the topic to its end since the lanes last changed."""
        return self._read_after == self._takeovers

    def lookup(self, case_id: str) -> tuple[str, bytes] | None:
        """(key id, data key) of ``case_id``, or None when it has none (erased)."""
        with self._lock:
            if case_id not in self._wrapped:
                self.refresh()
            return self._open(case_id)

    def key_for_sealing(self, case_id: str) -> tuple[str, bytes]:
        """The case's key, made and written (acknowledged) first if it has none yet."""
        with self._lock:
            if not self.caught_up() or case_id in self._wrapped:
                self.refresh()  # never seal with a key erased meanwhile, nor miss one
            found = self._open(case_id)
            if found is not None:
                return found
            data_key, key_id = crypto.new_key(), crypto.new_key_id()
            record = self._wrap(case_id, key_id, data_key)
            self.log.write(case_id, record.model_dump_json().encode())
            self._wrapped[case_id] = record
            self._remember(case_id, (key_id, data_key))
            return key_id, data_key

    def erase(self, case_id: str) -> bool:
        """Crypto-shred ``case_id``: write its tombstone. False when it had no key."""
        with self._lock:
            had = self.lookup(case_id) is not None
            self.log.write(case_id, None)
            self._apply(case_id, None)
            self._wrapped.settle()
            return had

    def rewrap(self) -> int:
        """Re-wrap every live key not wrapped by the current KEK; returns how many."""
        with self._lock:
            self.refresh()
            current, _ = self.keyring.current()
            done = 0
            for case_id in sorted(self._wrapped.case_ids()):
                record = self._wrapped.get(case_id)
                if record is None or record.kek_id == current:
                    continue
                found = self._open(case_id)
                if found is None:
                    continue
                rewrapped = self._wrap(case_id, found[0], found[1], record.created_at)
                self.log.write(case_id, rewrapped.model_dump_json().encode())
                self._wrapped[case_id] = rewrapped
                done += 1
            return done

    def keks_in_use(self) -> set[str]:
        """The KEK ids that wrap a live key (after a refresh)."""
        with self._lock:
            self.refresh()
            return self._wrapped.kek_ids_in_use()

    def cases(self) -> int:
        """How many cases have a live key here."""
        with self._lock:
            return len(self._wrapped)

    def _apply(self, case_id: str, value: bytes | None) -> None:
        if value is None:
            self._wrapped.pop(case_id)
            self._unwrapped.pop(case_id, None)
            return
        try:
            record = WrappedDataKey.model_validate_json(value)
        except ValidationError:
            return  # not a key record: it opens nothing
        previous = self._unwrapped.get(case_id)
        if previous is not None and previous[0] != record.key_id:
            self._unwrapped.pop(case_id, None)
        self._wrapped[case_id] = record

    def _open(self, case_id: str) -> tuple[str, bytes] | None:
        cached = self._unwrapped.get(case_id)
        if cached is not None:
            self._unwrapped.move_to_end(case_id)
            return cached
        record = self._wrapped.get(case_id)
        if record is None:
            return None
        kek = self.keyring.get(record.kek_id)
        if kek is None:
            raise crypto.SealError(
                f"{case_id}'s data key is wrapped by KEK {record.kek_id}, which the KEK file "
                f"{self.keyring.path} does not hold"
            )
        aad = _wrap_binding(case_id, record.key_id, record.kek_id)
        data_key = crypto.unwrap(record.nonce, record.wrapped, kek, aad)
        self._remember(case_id, (record.key_id, data_key))
        return record.key_id, data_key

    def _remember(self, case_id: str, opened: tuple[str, bytes]) -> None:
        """Keep ``opened`` unwrapped, dropping the least recently used past the bound."""
        self._unwrapped[case_id] = opened
        self._unwrapped.move_to_end(case_id)
        while len(self._unwrapped) > self.unwrapped_keys:
            self._unwrapped.popitem(last=False)

    def _wrap(
        self, case_id: str, key_id: str, data_key: bytes, created_at: datetime | None = None
    ) -> WrappedDataKey:
        kek_id, kek = self.keyring.current()
        nonce, wrapped = crypto.wrap(data_key, kek, _wrap_binding(case_id, key_id, kek_id))
        return WrappedDataKey(
            case_id=case_id,
            key_id=key_id,
            kek_id=kek_id,
            nonce=nonce,
            wrapped=wrapped,
            created_at=created_at or self.clock(),
        )


def _one_by_one(records: Iterable[KeyRecord]) -> Iterator[KeyRecord]:
    """``records``, each let go as soon as the loop has moved past it.

    A list of the whole topic, held until its last record is applied, would leave the
    heap fragmented under the keys kept: about 40 MB more resident memory after reading
    176,000 keys. An iterator is read as it comes.
    """
    if not isinstance(records, list):
        yield from records
        return
    pending = deque(records)
    del records  # the queue alone holds them now
    while pending:
        yield pending.popleft()


def _wrap_binding(case_id: str, key_id: str, kek_id: str) -> bytes:
    return "\x1f".join(("person-keys", case_id, key_id, kek_id)).encode()


class MemoryKeyLog:
    """A key log in memory (tests, and tools that need no broker)."""

    def __init__(self, records: list[KeyRecord] | None = None) -> None:
        self.records = records if records is not None else []  # share it: one topic
        self._read = 0

    def catch_up(self) -> list[KeyRecord]:
        new, self._read = self.records[self._read :], len(self.records)
        return new

    def write(self, case_id: str, value: bytes | None) -> None:
        read_all = self._read == len(self.records)
        self.records.append((case_id, value))
        if read_all:  # nothing of others' between: its own record is not read back
            self._read = len(self.records)
