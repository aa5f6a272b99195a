"""A KEK file of the test's own, and a key store on an in-memory key topic, its cache in
the heap or on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.keys import Keyring, KeyStore, MemoryKeyLog
from services.keys.keyring import ensure_kek_file
from services.keys.store import KeyRecord
from services.runtime.stores import ScratchMapping


@pytest.fixture
def kek_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "kek.toml"
    monkeypatch.setenv("RETURNS_KEK_FILE", str(path))
    return ensure_kek_file(path)


@pytest.fixture
def key_topic() -> list[KeyRecord]:
    return []


@pytest.fixture(params=["in the heap", "on disk"])
def store(
    request: pytest.FixtureRequest, kek_path: Path, key_topic: list[KeyRecord], tmp_path: Path
) -> Iterator[KeyStore]:
    """A store whose packed keys are in a dict (commands, the audit) or in a RocksDB
    scratch database (a worker's, services/runtime/stores.py)."""
    slots = ScratchMapping(tmp_path / "person-keys") if request.param == "on disk" else None
    yield KeyStore(MemoryKeyLog(key_topic), Keyring.load(kek_path), slots=slots)
    if slots is not None:
        slots.close()
