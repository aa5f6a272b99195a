"""The replay's merge, bounds and start positions, on a fake consumer (no broker)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from kafka import TopicPartition

from schemas.codec import encode
from services.audit.events import PIPELINE_ORDER
from services.audit.reader import Replay, ReplayError, ReplaySource, release_parked_records
from tests.unit.audit.audit_factories import T0, Log, at
from tests.unit.screening.factories import returned

PREFIX = "t1."


@dataclass(frozen=True)
class FakeRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    value: bytes


class FakeConsumer:
    """Holds its partitions in memory and hands out a few records per partition a poll."""

    def __init__(self, logs: dict[TopicPartition, list[FakeRecord]], **config: Any) -> None:
        self.logs = logs
        self.config = config
        self.positions: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()
        self.pauses = 0
        self.closed = False

    def topics(self) -> set[str]:
        return {tp.topic for tp in self.logs}

    def partitions_for_topic(self, name: str) -> set[int]:
        return {tp.partition for tp in self.logs if tp.topic == name}

    def assign(self, tps: list[TopicPartition]) -> None:
        self.positions = dict.fromkeys(tps, 0)

    def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, 0)

    def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: len(self.logs[tp]) for tp in tps}

    def offsets_for_times(self, wanted: dict[TopicPartition, int]) -> dict[TopicPartition, Any]:
        found = {}
        for tp, millis in wanted.items():
            offsets = [r.offset for r in self.logs[tp] if r.timestamp >= millis]
            found[tp] = type("Found", (), {"offset": offsets[0]})() if offsets else None
        return found

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    def pause(self, *tps: TopicPartition) -> None:
        self.pauses += len(set(tps) - self.paused)
        self.paused |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused -= set(tps)

    def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    def poll(self, timeout_ms: int = 0) -> dict[TopicPartition, list[FakeRecord]]:
        batch = {}
        for tp, position in self.positions.items():
            if tp in self.paused:
                continue
            records = self.logs[tp][position : position + 3]
            if records:
                batch[tp] = records
                self.positions[tp] = position + len(records)
        return batch

    def close(self) -> None:
        self.closed = True


def as_records(log: Log, placement: dict[str, int]) -> dict[TopicPartition, list[FakeRecord]]:
    """Each contract topic's events on `placement[topic]` partitions, round robin.

    Every other contract topic exists too, with one empty partition.
    """
    logs: dict[TopicPartition, list[FakeRecord]] = {
        TopicPartition(PREFIX + topic, 0): [] for topic in PIPELINE_ORDER
    }
    for event in log.events:
        name = PREFIX + event.topic
        tp = TopicPartition(name, event.offset % placement.get(event.topic, 1))
        records = logs.setdefault(tp, [])
        millis = int(event.occurred_at.timestamp() * 1000)
        records.append(FakeRecord(name, tp.partition, len(records), millis, encode(event.envelope)))
    return logs


def busy_day() -> Log:
    log = Log()
    for n in range(12):
        person = log.person(returned(f"A2000000{n:02d}", group_id=f"G-{n}"), n)
        log.screen([person], n + 0.5)
    return log


def replay(logs: dict[TopicPartition, list[FakeRecord]], **kwargs: Any) -> tuple[Replay, list, Any]:
    made: list[FakeConsumer] = []

    def factory(**config: Any) -> FakeConsumer:
        made.append(FakeConsumer(logs, **config))
        return made[0]

    progress: list[tuple[int, int]] = []
    run = Replay(
        ReplaySource("fake:9092", PREFIX),
        ("person-returned", "screened"),
        consumer_factory=factory,
        progress=lambda done, total: progress.append((done, total)),
        **kwargs,
    )
    events = list(run)
    return run, events, (made[0], progress)


def test_partitions_of_every_topic_are_merged_into_log_order() -> None:
    log = busy_day()
    run, events, (consumer, progress) = replay(
        as_records(log, {"person-returned": 3, "screened": 2})
    )
    assert [e.event_id for e in events] == [e.event_id for e in log.events]
    assert progress[0] == (0, 24)
    assert progress[-1] == (24, 24)
    assert run.stats.read == 24
    assert consumer.closed


def test_the_replay_is_its_own_consumer_that_never_commits_or_creates_topics() -> None:
    _, _, (consumer, _) = replay(as_records(busy_day(), {}))
    assert consumer.config["group_id"] is None
    assert consumer.config["enable_auto_commit"] is False
    assert consumer.config["allow_auto_create_topics"] is False


def test_a_partition_with_a_full_buffer_is_paused_and_the_order_kept() -> None:
    log = Log()  # everyone returns before anyone is decided: the screened partition waits
    people = [log.person(returned(f"A2000000{n:02d}", group_id=f"G-{n}"), n) for n in range(12)]
    for n, person in enumerate(people):
        log.screen([person], 100 + n)
    expected = [e.event_id for e in log.events]
    log.events.sort(key=lambda e: e.topic)
    _, events, (consumer, _) = replay(as_records(log, {}), buffer_per_partition=2)
    assert consumer.pauses > 0
    assert [e.event_id for e in events] == expected


def test_a_replay_from_a_timestamp_starts_at_the_first_record_written_then() -> None:
    log = busy_day()
    run, events, (_, progress) = replay(as_records(log, {}), from_timestamp=at(6))
    assert events[0].occurred_at == at(6)
    assert len(events) == 12
    assert progress[0] == (0, 12)
    assert run.from_timestamp == T0 + timedelta(minutes=6)


def test_records_written_after_the_replay_started_wait_for_the_next_one() -> None:
    log = busy_day()
    logs = as_records(log, {})
    late = Log().person(returned("A299999999", group_id="G-LATE"), 30)

    class GrowingConsumer(FakeConsumer):
        def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
            ends = super().end_offsets(tps)
            tp = TopicPartition(PREFIX + "person-returned", 0)
            self.logs[tp].append(FakeRecord(tp.topic, 0, ends[tp], 0, encode(late)))
            return ends

    run = Replay(
        ReplaySource("fake:9092", PREFIX),
        ("person-returned", "screened"),
        consumer_factory=lambda **config: GrowingConsumer(logs, **config),
    )
    events = list(run)
    assert len(events) == 24
    assert late.event_id not in {e.event_id for e in events}


def test_undecodable_records_are_skipped_and_listed() -> None:
    log = busy_day()
    logs = as_records(log, {})
    tp = TopicPartition(PREFIX + "screened", 0)
    logs[tp].append(FakeRecord(tp.topic, 0, 12, logs[tp][-1].timestamp, b"{not json"))
    run, events, _ = replay(logs)
    assert len(events) == 24
    assert run.stats.undecodable[0][0] == "screened[0]@12"


def test_a_missing_topic_names_the_prefix() -> None:
    logs = {
        tp: r for tp, r in as_records(busy_day(), {}).items() if tp.topic != PREFIX + "screened"
    }
    with pytest.raises(ReplayError, match=r"t1\.screened .*prefix 't1\.'"):
        replay(logs)


class Parked:
    def __init__(self) -> None:
        self.drained = False

    def drain(self) -> None:
        self.drained = True


def test_records_kafka_python_parked_for_a_resumed_partition_are_dropped_to_be_fetched_again() -> (
    None
):
    paused, resumed = TopicPartition("a", 0), TopicPartition("a", 1)
    parked = {paused: Parked(), resumed: Parked()}
    consumer = type("Consumer", (), {})()
    consumer._fetcher = type("Fetcher", (), {"_paused_partition_records": parked})()
    release_parked_records(consumer, {resumed})
    assert list(parked) == [paused]
    assert not parked[paused].drained
    release_parked_records(object(), {resumed})  # another client: nothing to do
