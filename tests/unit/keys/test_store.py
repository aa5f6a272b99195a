"""Each case's data key on the key topic: made once, shared, erased, re-wrapped."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.keys import Keyring, KeyStore, MemoryKeyLog, SealError
from services.keys.keyring import add_kek, retire_others
from services.keys.store import KeyRecord


def test_a_case_gets_one_key_which_every_reader_of_the_topic_finds(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    key_id, key = store.key_for_sealing("A212345678")
    assert store.key_for_sealing("A212345678") == (key_id, key)
    screening = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path))
    assert screening.lookup("A212345678") == (key_id, key)
    assert screening.lookup("A212345679") is None
    [(case_id, value)] = key_topic
    assert case_id == "A212345678"
    assert value is not None
    assert key not in value  # wrapped by the KEK, never in the clear


def test_the_key_topic_alone_opens_nothing_without_the_kek(
    store: KeyStore, key_topic: list[KeyRecord], tmp_path: Path
) -> None:
    store.key_for_sealing("A212345678")
    other_kek = tmp_path / "other.toml"
    thief = KeyStore(MemoryKeyLog(key_topic), Keyring.load(_made(other_kek)))
    with pytest.raises(SealError, match="does not hold"):
        thief.lookup("A212345678")


def test_erasing_writes_a_tombstone_that_empties_every_cache(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    screening = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path))
    store.key_for_sealing("A212345678")
    assert screening.lookup("A212345678") is not None  # cached now
    assert store.erase("A212345678") is True
    assert key_topic[-1] == ("A212345678", None)
    screening.refresh()
    assert screening.lookup("A212345678") is None
    assert store.lookup("A212345678") is None
    assert store.erase("A212345678") is False


def test_a_case_submitted_again_after_erasure_gets_a_new_key(store: KeyStore) -> None:
    old_id, _ = store.key_for_sealing("A212345678")
    store.erase("A212345678")
    new_id, _ = store.key_for_sealing("A212345678")
    assert new_id != old_id


def test_rotation_rewraps_every_key_and_the_old_kek_can_go(
    store: KeyStore, key_topic: list[KeyRecord], kek_path: Path
) -> None:
    before = {case: store.key_for_sealing(case) for case in ("A212345678", "A212345679")}
    new_kek = add_kek(kek_path)
    rotated = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path))
    assert rotated.rewrap() == 2
    assert rotated.rewrap() == 0  # already under the current KEK
    assert retire_others(kek_path)
    fresh = KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path))
    assert {case: fresh.lookup(case) for case in before} == before
    assert Keyring.load(kek_path).current_id == new_kek


def _made(path: Path) -> Path:
    from services.keys.keyring import ensure_kek_file

    return ensure_kek_file(path)
