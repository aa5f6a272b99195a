"""One broker round trip per new case: a case with no key here gets one with a single
write, while a worker that takes lanes over still finds (and reuses) the keys their
previous worker wrote, and a known case still sees its erasure before it is sealed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.intake.app import catch_up_on_takeover
from services.keys import Keyring, KeyStore, MemoryKeyLog
from services.keys.kafka_log import KeyLogUnavailable
from services.keys.store import KeyRecord


class CountingLog(MemoryKeyLog):
    """The in-memory key topic, counting the reads and writes that would go to a broker;
    ``failing`` reads raise as an unreachable topic does."""

    def __init__(self, records: list[KeyRecord]) -> None:
        super().__init__(records)
        self.reads = self.writes = self.failing = 0

    def catch_up(self) -> list[KeyRecord]:
        self.reads += 1
        if self.failing:
            self.failing -= 1
            raise KeyLogUnavailable("could not read t.person-keys: KafkaTimeoutError")
        return super().catch_up()

    def write(self, case_id: str, value: bytes | None) -> None:
        self.writes += 1
        super().write(case_id, value)


def worker(key_topic: list[KeyRecord], kek_path: Path) -> tuple[KeyStore, CountingLog]:
    log = CountingLog(key_topic)
    return KeyStore(log, Keyring.load(kek_path)), log


def test_a_new_case_is_keyed_with_one_write_and_no_read(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    store, log = worker(key_topic, kek_path)
    store.refresh()  # at start-up, as on any assignment
    reads = log.reads
    for n in range(5):
        store.key_for_sealing(f"A21234567{n}")
    assert (log.reads - reads, log.writes) == (0, 5)
    assert [case for case, _ in key_topic] == [f"A21234567{n}" for n in range(5)]


def test_a_store_that_never_read_the_topic_reads_it_before_its_first_key(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    first, _ = worker(key_topic, kek_path)
    key_id, _ = first.key_for_sealing("A212345678")
    restarted, log = worker(key_topic, kek_path)  # no assignment hook has run yet
    assert restarted.key_for_sealing("A212345678")[0] == key_id
    assert (log.reads, log.writes) == (1, 0)


def test_a_takeover_sees_the_key_the_previous_worker_wrote_and_reuses_it(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    before, _ = worker(key_topic, kek_path)
    after, log = worker(key_topic, kek_path)
    asyncio.run(catch_up_on_takeover(before))
    asyncio.run(catch_up_on_takeover(after))
    key_id, data_key = before.key_for_sealing("A212345678")  # `before` holds the lane

    asyncio.run(catch_up_on_takeover(after))  # the lane moves to `after`
    assert after.key_for_sealing("A212345678") == (key_id, data_key)
    assert log.writes == 0
    assert [case for case, _ in key_topic] == ["A212345678"]  # one key, never replaced


def test_without_the_takeover_read_the_case_would_get_a_second_key(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    """What the assignment hook is for: a worker that skipped it overwrites the key,
    and every record sealed by the previous worker stops opening."""
    before, _ = worker(key_topic, kek_path)
    after, _ = worker(key_topic, kek_path)
    after.refresh()
    key_id, _ = before.key_for_sealing("A212345678")
    assert after.key_for_sealing("A212345678")[0] != key_id


def test_a_failed_takeover_read_is_made_up_for_before_the_first_key(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    before, _ = worker(key_topic, kek_path)
    after, log = worker(key_topic, kek_path)
    after.refresh()
    key_id, _ = before.key_for_sealing("A212345678")

    log.failing = 2  # the hook's read fails, and so does the first record's
    asyncio.run(catch_up_on_takeover(after))
    assert not after.caught_up()
    with pytest.raises(KeyLogUnavailable):
        after.key_for_sealing("A212345678")  # not sealed, so not processed: read again
    assert after.key_for_sealing("A212345678")[0] == key_id
    assert log.writes == 0


def test_a_takeover_during_a_read_is_not_covered_by_that_read(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    store, log = worker(key_topic, kek_path)

    class TakenOverWhileReading(CountingLog):
        def catch_up(self) -> list[KeyRecord]:
            store.lanes_changed()
            return super().catch_up()

    store.log = TakenOverWhileReading(key_topic)
    store.refresh()
    assert not store.caught_up()
    store.log = log
    store.refresh()
    assert store.caught_up()


def test_a_known_case_still_sees_its_erasure_before_it_is_sealed(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    intake, _ = worker(key_topic, kek_path)
    eraser, _ = worker(key_topic, kek_path)  # `returns erase`, another process
    intake.refresh()
    old_id, _ = intake.key_for_sealing("A212345678")
    assert eraser.erase("A212345678") is True

    new_id, _ = intake.key_for_sealing("A212345678")
    assert new_id != old_id  # never sealed with the erased key
    assert key_topic[-2][1] is None  # the tombstone, then the new key
    assert key_topic[-1][1] is not None
    assert eraser.lookup("A212345678") is not None  # the new key, for new records only


def test_the_erasure_of_a_case_not_cached_here_needs_no_read(
    key_topic: list[KeyRecord], kek_path: Path
) -> None:
    intake, log = worker(key_topic, kek_path)
    other, _ = worker(key_topic, kek_path)
    intake.refresh()
    old_id, _ = other.key_for_sealing("A212345678")  # keyed on a lane intake lacks
    other.erase("A212345678")
    reads = log.reads
    new_id, _ = intake.key_for_sealing("A212345678")
    assert new_id != old_id
    assert log.reads == reads
    other.refresh()
    assert other.lookup("A212345678") == intake.lookup("A212345678")
