"""A worker's first read of a large key topic gives the heap it freed back."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.keys import Keyring, KeyStore, MemoryKeyLog
from services.keys import store as key_store
from services.keys.store import KeyRecord


def test_a_refresh_that_read_many_keys_releases_what_it_freed(
    monkeypatch: pytest.MonkeyPatch, kek_path: Path
) -> None:
    calls: list[int] = []
    monkeypatch.setattr(key_store, "release_free_memory", lambda: bool(calls.append(1)))
    monkeypatch.setattr(key_store, "RELEASE_AFTER", 3)
    writer = KeyStore(MemoryKeyLog(), Keyring.load(kek_path))
    for n in range(4):
        writer.key_for_sealing(f"A21234567{n}")
    topic: list[KeyRecord] = writer.log.records  # type: ignore[attr-defined]
    KeyStore(MemoryKeyLog(topic[:2]), Keyring.load(kek_path)).refresh()
    assert calls == []  # two records: nothing worth giving back
    reader = KeyStore(MemoryKeyLog(topic), Keyring.load(kek_path))
    reader.refresh()
    assert calls == [1]
    assert reader.lookup("A212345673") == writer.lookup("A212345673")
