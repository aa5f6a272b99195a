"""The key store's cache: every wrapped key, a bounded number of unwrapped ones.

A store keeps the wrapped key of every live case it has seen, and unwraps again a key
that fell out of its bounded set of unwrapped ones; neither may serve a key that was
erased, nor lose one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.keys import Keyring, KeyStore, MemoryKeyLog, SealError
from services.keys.keyring import add_kek
from services.keys.store import KeyRecord

CASES = ("A212345671", "A212345672", "A212345673")


class CountingKeyring(Keyring):
    """A keyring that counts how often a KEK is asked for: once per key unwrapped."""

    asked: int = 0

    def get(self, kek_id: str) -> bytes | None:
        self.asked += 1
        return super().get(kek_id)


def counting(path: Path) -> CountingKeyring:
    loaded = Keyring.load(path)
    return CountingKeyring(loaded.path, loaded.current_id, loaded.keks)


def test_a_key_that_fell_out_of_the_unwrapped_ones_opens_again_the_same(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    made = {case: store.key_for_sealing(case) for case in CASES}
    keyring = counting(kek_path)
    reader = KeyStore(MemoryKeyLog(key_topic), keyring, unwrapped_keys=2)
    assert {case: reader.lookup(case) for case in CASES} == made
    assert keyring.asked == 3
    assert reader.lookup(CASES[2]) == made[CASES[2]]  # still unwrapped: no KEK needed
    assert keyring.asked == 3
    assert reader.lookup(CASES[0]) == made[CASES[0]]  # dropped by then: unwrapped again
    assert keyring.asked == 4
    assert reader.cases() == 3


def test_the_bound_keeps_the_most_recently_used_keys_unwrapped(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    for case in CASES:
        store.key_for_sealing(case)
    keyring = counting(kek_path)
    reader = KeyStore(MemoryKeyLog(key_topic), keyring, unwrapped_keys=2)
    reader.lookup(CASES[0])
    reader.lookup(CASES[1])
    reader.lookup(CASES[0])  # used again: CASES[1] is now the oldest
    reader.lookup(CASES[2])
    asked = keyring.asked
    reader.lookup(CASES[0])
    assert keyring.asked == asked
    reader.lookup(CASES[1])
    assert keyring.asked == asked + 1


def test_a_writer_with_a_small_bound_seals_with_the_key_it_wrote(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    writer = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path), unwrapped_keys=1)
    made = {case: writer.key_for_sealing(case) for case in CASES}
    assert {case: writer.key_for_sealing(case) for case in CASES} == made
    assert len(key_topic) == len(CASES)  # no second key for any case


def test_an_erased_key_is_not_served_from_the_cache_after_a_refresh(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    reader = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path), unwrapped_keys=2)
    for case in CASES:
        store.key_for_sealing(case)
        assert reader.lookup(case) is not None
    store.erase(CASES[2])  # unwrapped in the reader
    store.erase(CASES[0])  # only wrapped there by now
    reader.refresh()
    assert [reader.lookup(case) is None for case in CASES] == [True, False, True]
    assert reader.cases() == 1


def test_a_new_key_after_an_erasure_replaces_the_unwrapped_old_one(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    reader = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path))
    old = store.key_for_sealing(CASES[0])
    assert reader.lookup(CASES[0]) == old
    store.erase(CASES[0])
    new = store.key_for_sealing(CASES[0])
    reader.refresh()
    assert reader.lookup(CASES[0]) == new != old


def test_rewrapping_more_keys_than_the_bound_keeps_every_key_and_its_creation_time(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    made = {case: store.key_for_sealing(case) for case in CASES}
    created = {case: json.loads(value or b"")["created_at"] for case, value in key_topic}
    add_kek(kek_path)
    rotated = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path), unwrapped_keys=1)
    assert rotated.rewrap() == len(CASES)
    current = Keyring.load(kek_path).current_id
    assert rotated.keks_in_use() == {current}
    rewrapped = {case: json.loads(value or b"") for case, value in key_topic[len(CASES) :]}
    assert {case: record["created_at"] for case, record in rewrapped.items()} == created
    assert {record["kek_id"] for record in rewrapped.values()} == {current}
    fresh = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path), unwrapped_keys=1)
    assert {case: fresh.lookup(case) for case in CASES} == made


def test_a_key_record_whose_wrapped_key_is_not_base64_is_live_but_does_not_open(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    store.key_for_sealing(CASES[0])
    [(case, value)] = key_topic
    record = json.loads(value or b"")
    key_topic.append((case, json.dumps({**record, "wrapped": "abc"}).encode()))
    reader = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path))
    reader.refresh()
    assert reader.cases() == 1
    with pytest.raises(SealError, match="does not unwrap"):
        reader.lookup(CASES[0])


class OneAtATimeLog(MemoryKeyLog):
    """A key log that hands its new records out one at a time, as they are read."""

    def catch_up(self) -> Iterator[KeyRecord]:  # type: ignore[override]
        yield from super().catch_up()


def test_a_key_log_that_yields_its_records_is_read_like_one_that_lists_them(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    made = {case: store.key_for_sealing(case) for case in CASES}
    store.erase(CASES[1])
    reader = KeyStore(OneAtATimeLog(key_topic), Keyring.load(kek_path))
    reader.refresh()
    assert reader.cases() == 2
    assert [reader.lookup(case) for case in CASES] == [made[CASES[0]], None, made[CASES[2]]]
