"""A KEK file of the test's own, and a key store on an in-memory key topic."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.keys import Keyring, KeyStore, MemoryKeyLog
from services.keys.keyring import ensure_kek_file
from services.keys.store import KeyRecord


@pytest.fixture
def kek_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kek.toml"
    monkeypatch.setenv("RETURNS_KEK_FILE", str(path))
    return ensure_kek_file(path)


@pytest.fixture
def key_topic() -> list[KeyRecord]:
    return []


@pytest.fixture
def store(kek_path: Path, key_topic: list[KeyRecord]) -> KeyStore:
    return KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path))
