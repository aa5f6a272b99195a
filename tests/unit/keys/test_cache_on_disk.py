"""A worker's key cache on disk: emptied at every start, so the key topic, read again
from its start, is the only source; a key erased while the worker was down stays erased.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.keys import Keyring, KeyStore, MemoryKeyLog
from services.keys.store import KeyRecord
from services.runtime.stores import ScratchMapping
from tests.support.files import in_files

CASES = ("A212345671", "A212345672", "A212345673")


def worker_store(topic: list[KeyRecord], kek_path: Path, cache: ScratchMapping) -> KeyStore:
    """A worker's store as it starts: a fresh read of the topic into its disk cache."""
    return KeyStore(MemoryKeyLog(topic), Keyring.load(kek_path), slots=cache)


def a_worker_run(
    topic: list[KeyRecord], kek_path: Path, path: Path
) -> dict[str, tuple[str, bytes]]:
    """A worker that starts, makes the key of each of CASES and stops: the keys made."""
    cache = ScratchMapping(path)
    store = worker_store(topic, kek_path, cache)
    made = {case: store.key_for_sealing(case) for case in CASES}
    cache.close()
    return made


def test_a_restarted_worker_opens_the_keys_it_made_before(
    key_topic: list[KeyRecord], kek_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "datadir" / "person-keys"
    made = a_worker_run(key_topic, kek_path, path)
    after = worker_store(key_topic, kek_path, ScratchMapping(path))
    assert {case: after.lookup(case) for case in CASES} == made
    assert after.key_for_sealing(CASES[0]) == made[CASES[0]]  # no second key for a case
    assert after.cases() == len(CASES)


def test_a_key_erased_while_the_worker_was_down_is_not_opened_after_it(
    key_topic: list[KeyRecord], kek_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "datadir" / "person-keys"
    a_worker_run(key_topic, kek_path, path)
    # `returns erase` meanwhile, and compaction: the topic keeps neither key nor tombstone
    erased = CASES[1]
    key_topic[:] = [(case, value) for case, value in key_topic if case != erased]
    after = worker_store(key_topic, kek_path, ScratchMapping(path))
    assert after.lookup(erased) is None
    assert after.lookup(CASES[0]) is not None
    assert after.cases() == 2


MANY = [f"A3{n:08d}" for n in range(2000)]


@pytest.fixture
def filled(
    key_topic: list[KeyRecord], kek_path: Path, tmp_path: Path
) -> tuple[KeyStore, ScratchMapping]:
    """A worker's store with the keys of MANY cases, written to its cache files."""
    cache = ScratchMapping(tmp_path / "datadir" / "person-keys")
    store = worker_store(key_topic, kek_path, cache)
    for case in MANY:
        store.key_for_sealing(case)
    cache._db.flush()  # as RocksDB does whenever a memtable fills up
    return store, cache


def test_an_erased_key_leaves_the_cache_files_at_once(
    filled: tuple[KeyStore, ScratchMapping],
) -> None:
    store, cache = filled
    erased = "A300001234"
    wrapped = cache[erased]
    assert in_files(cache.path, wrapped)
    assert store.erase(erased)
    assert not in_files(cache.path, wrapped)
    assert store.lookup(erased) is None
    assert store.lookup("A300001235") is not None


def test_keys_erased_by_another_process_leave_the_cache_files_when_a_refresh_reads_them(
    filled: tuple[KeyStore, ScratchMapping], key_topic: list[KeyRecord]
) -> None:
    store, cache = filled
    erased = MANY[::10]  # `returns erase`, run 200 times elsewhere: tombstones on the topic
    wrapped = {case: cache[case] for case in erased}
    assert all(in_files(cache.path, value) for value in wrapped.values())
    key_topic.extend((case, None) for case in erased)
    store.refresh()
    assert not any(in_files(cache.path, value) for value in wrapped.values())
    assert all(store.lookup(case) is None for case in erased)
    assert store.cases() == 1800
