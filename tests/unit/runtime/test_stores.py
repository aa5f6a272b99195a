"""``RETURNS_STORE``, the rocksdb store's reads across partitions, and a worker's scratch
caches, on a real RocksDB."""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import faust
import pytest
from faust.streams import _current_event

from services.runtime.faust_app import scratch_dir
from services.runtime.settings import ConfigurationError
from services.runtime.stores import ScratchMapping, store_url
from tests.support.files import in_files


def test_rocksdb_is_the_default_and_memory_can_be_chosen() -> None:
    assert store_url({}) == store_url({"RETURNS_STORE": "rocksdb"}) == "returns-rocksdb://"
    assert store_url({"RETURNS_STORE": "memory"}) == "memory://"


def test_an_unknown_store_is_named_with_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"RETURNS_STORE must be memory or rocksdb"):
        store_url({"RETURNS_STORE": "redis"})


@pytest.fixture
def table(tmp_path: Path) -> Any:
    app = faust.App("returns-test", store=store_url({}), datadir=str(tmp_path))
    return app.Table("groups", key_type=str, value_type=bytes, partitions=4)


class Event:
    def __init__(self, partition: int) -> None:
        self.message = SimpleNamespace(partition=partition)


def handling_an_event_of(partition: int) -> Any:
    event = Event(partition)
    return _current_event.set(weakref.ref(event)), event  # the event must stay referenced


def test_a_key_of_one_partition_is_read_while_handling_another_partitions_event(
    table: Any,
) -> None:
    store = table.data
    store._db_for_partition(2).put(b"G-2026-000123", b"decided")
    token, _event = handling_an_event_of(0)
    try:
        assert store._get(b"G-2026-000123") == b"decided"
        assert store._contains(b"G-2026-000123")
        assert store._get(b"G-2026-000999") is None
    finally:
        _current_event.reset(token)


def test_the_tables_of_a_worker_are_files_in_its_datadir(table: Any, tmp_path: Path) -> None:
    table.data._db_for_partition(1).put(b"k", b"v")
    assert any(tmp_path.rglob("groups-1.db/CURRENT"))


def test_a_scratch_mapping_is_opened_on_first_use_and_empty_then(tmp_path: Path) -> None:
    path = tmp_path / "datadir" / "person-keys"
    first = ScratchMapping(path)
    assert not path.exists()  # nothing on disk until it is used
    first["A212345671"] = b"wrapped-1"
    first["A212345672"] = b"wrapped-2"
    assert path.is_dir()
    first.close()
    again = ScratchMapping(path)  # the next start of the worker
    assert len(again) == 0
    assert "A212345671" not in again
    assert again.get("A212345671") is None


def test_a_scratch_mapping_behaves_as_a_dict_of_bytes(tmp_path: Path) -> None:
    scratch, same = ScratchMapping(tmp_path / "scratch"), {}
    for mapping in (scratch, same):
        mapping.update({"A212345671": b"one", "A212345672": b"two", "A212345673": b""})
        mapping["A212345672"] = b"two, again"
        del mapping["A212345673"]
        assert mapping.pop("A212345679", None) is None
    assert dict(scratch) == same == {"A212345671": b"one", "A212345672": b"two, again"}
    assert len(scratch) == 2
    assert sorted(scratch.values()) == [b"one", b"two, again"]
    assert 42 not in scratch
    with pytest.raises(KeyError):
        del scratch["A212345673"]
    with pytest.raises(KeyError):
        scratch["A212345673"]


def test_a_worker_keeps_its_scratch_caches_in_its_datadir_unless_in_memory(
    tmp_path: Path,
) -> None:
    on_disk = faust.App("returns-test", store=store_url({}), datadir=str(tmp_path))
    assert scratch_dir(on_disk, "person-keys") == tmp_path / "person-keys"
    memory = store_url({"RETURNS_STORE": "memory"})
    assert scratch_dir(faust.App("returns-test", store=memory), "person-keys") is None


def test_values_deleted_from_a_scratch_mapping_leave_its_files_when_it_settles(
    tmp_path: Path,
) -> None:
    scratch = ScratchMapping(tmp_path / "scratch")
    values = {f"A3{n:08d}": os.urandom(60) for n in range(2000)}  # as random as wrapped keys
    scratch.update(values)
    scratch._db.flush()  # as RocksDB does whenever a memtable fills up
    deleted = [f"A3{n:08d}" for n in (17, 1234, 1999)]
    for key in deleted:
        del scratch[key]
    assert all(in_files(tmp_path / "scratch", values[key]) for key in deleted)
    scratch.settle()
    assert not any(in_files(tmp_path / "scratch", values[key]) for key in deleted)
    assert in_files(tmp_path / "scratch", values["A300001000"])
    assert len(scratch) == 1997
    scratch.settle()  # nothing deleted since: nothing to do
