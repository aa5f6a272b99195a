"""The key log outlives a broker that stops answering: it retries on new clients, loses
and doubles nothing, and gives up only at its deadline, with a clear error."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest
from kafka import TopicPartition
from kafka.errors import KafkaTimeoutError

from services.keys import kafka_log
from services.keys.kafka_log import KafkaKeyLog, KeyLogUnavailable, kafka_consumer

TOPIC = "t.person-keys"


@dataclass
class Record:
    key: bytes
    value: bytes | None
    offset: int


@dataclass
class Topic:
    """The broker's side: the records of each partition."""

    partitions: dict[int, list[Record]] = field(default_factory=lambda: {0: [], 1: []})

    def append(self, partition: int, case_id: str, value: bytes | None) -> None:
        records = self.partitions[partition]
        records.append(Record(case_id.encode(), value, len(records)))


class FakeConsumer:
    """Reads `Topic`; its first ``stale_calls`` end_offsets time out, as a client stuck
    on a broker's old metadata does."""

    def __init__(self, topic: Topic, stale_calls: int = 0) -> None:
        self.topic = topic
        self.stale_calls = stale_calls
        self.positions: dict[TopicPartition, int] = {}
        self.seeks: dict[TopicPartition, int] = {}
        self.closed = False

    def partitions_for_topic(self, name: str) -> set[int]:
        return set(self.topic.partitions)

    def assign(self, partitions: list[TopicPartition]) -> None:
        self.positions = dict.fromkeys(partitions, 0)

    def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for tp in partitions:
            self.positions[tp] = 0

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = self.seeks[tp] = offset

    def end_offsets(self, partitions: list[TopicPartition], timeout_ms: int) -> dict[Any, int]:
        if self.stale_calls:
            self.stale_calls -= 1
            raise KafkaTimeoutError("Failed to get offsets by timestamps in 5000 ms")
        return {tp: len(self.topic.partitions[tp.partition]) for tp in partitions}

    def position(self, tp: TopicPartition, timeout_ms: int) -> int:
        return self.positions[tp]

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Record]]:
        batch = {}
        for tp, at in self.positions.items():
            records = self.topic.partitions[tp.partition][at:]
            if records:
                batch[tp] = records
                self.positions[tp] = at + len(records)
        return batch

    def close(self, **bounded: Any) -> None:
        self.closed = True


@dataclass
class Written:
    """The broker's ack: where the record went."""

    partition: int
    offset: int


class FakeProducer:
    """Writes to `Topic`; with ``lost_acks``, the broker gets the record but no ack comes
    back in time (the worst case for a retry: it must not write another value)."""

    def __init__(self, topic: Topic, lost_acks: int = 0) -> None:
        self.topic = topic
        self.lost_acks = lost_acks
        self.closed = False

    def send(self, name: str, key: bytes, value: bytes | None, partition: int) -> Any:
        self.topic.append(partition, key.decode(), value)
        lost = self.lost_acks > 0
        self.lost_acks -= lost

        offset = len(self.topic.partitions[partition]) - 1

        class Sent:
            def get(self, timeout: float) -> Any:
                if lost:
                    raise KafkaTimeoutError("Timeout after waiting for 5.0 secs.")
                return Written(partition, offset)

        return Sent()

    def close(self, **bounded: Any) -> None:
        self.closed = True


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_log, "FIRST_PAUSE", 0.01)
    monkeypatch.setattr(kafka_log, "LONGEST_PAUSE", 0.02)


def key_log(consumers: list[FakeConsumer], producers: list[FakeProducer]) -> KafkaKeyLog:
    """A key log that takes its clients, in order, from the lists (each is made once)."""
    return KafkaKeyLog(
        "broker:9092",
        TOPIC,
        lambda case_id: int(case_id[-1]) % 2,
        make_consumer=lambda servers: consumers.pop(0),
        make_producer=lambda servers: producers.pop(0),
    )


def test_a_read_stuck_on_old_metadata_goes_on_from_where_it_was_on_a_new_consumer() -> None:
    topic = Topic()
    topic.append(0, "A212345670", b"key-0")
    topic.append(1, "A212345671", b"key-1")
    stuck, fresh = FakeConsumer(topic), FakeConsumer(topic)
    log = key_log([stuck, fresh], [])
    assert list(log.catch_up()) == [("A212345670", b"key-0"), ("A212345671", b"key-1")]

    topic.append(0, "A212345672", b"key-2")
    stuck.stale_calls = 99  # from now on every ListOffsets of the old client times out
    assert list(log.catch_up()) == [("A212345672", b"key-2")]
    assert stuck.closed
    assert fresh.seeks == {TopicPartition(TOPIC, 0): 1, TopicPartition(TOPIC, 1): 1}
    assert list(log.catch_up()) == []


def test_a_write_whose_ack_is_lost_is_sent_again_with_the_same_bytes_on_a_new_producer() -> None:
    topic = Topic()
    first, second = FakeProducer(topic, lost_acks=1), FakeProducer(topic)
    log = key_log([], [first, second])
    log.write("A212345671", b"wrapped-key")
    assert first.closed
    assert topic.partitions[1] == [
        Record(b"A212345671", b"wrapped-key", 0),
        Record(b"A212345671", b"wrapped-key", 1),
    ]  # written twice, but the same record: the case keeps one key


def test_a_key_topic_that_stays_unreachable_fails_by_the_deadline_naming_the_topic(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(kafka_log, "WRITE_TIMEOUT", 0.3)
    topic = Topic()
    producers = [FakeProducer(topic, lost_acks=1) for _ in range(50)]
    log = key_log([], producers)
    started = time.monotonic()
    with pytest.raises(KeyLogUnavailable, match=f"could not write to {TOPIC}") as raised:
        log.write("A212345671", b"wrapped-key")
    assert time.monotonic() - started < 1.0
    assert "A212345671" not in str(raised.value)
    assert len(producers) < 49  # it did retry, each time on a new producer


def test_a_patient_key_log_outwaits_a_broker_away_longer_than_the_timeouts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A service's record path waits for the broker (a 20 s restart is longer than the
    timeouts): raising would crash the agent and leave its partition unread."""
    monkeypatch.setattr(kafka_log, "WRITE_TIMEOUT", 0.05)
    topic = Topic()
    producers = [FakeProducer(topic, lost_acks=1) for _ in range(30)] + [FakeProducer(topic)]
    log = KafkaKeyLog(
        "broker:9092",
        TOPIC,
        lambda case_id: int(case_id[-1]) % 2,
        make_consumer=lambda servers: None,
        make_producer=lambda servers: producers.pop(0),
        patient=True,
    )
    log.write("A212345671", b"wrapped-key")  # 30 failed attempts, far past 0.05 s
    assert producers == []
    assert {record.value for record in topic.partitions[1]} == {b"wrapped-key"}


def test_the_key_consumer_does_not_park_its_offset_requests_behind_a_long_poll(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A broker answers one connection's requests in order: with kafka's default
    fetch.max.wait.ms of 500 ms, each read to the end waited behind a pending fetch
    (measured: 483 ms per end_offsets on a 3-broker cluster, 8 ms with 10 ms)."""
    made: dict[str, Any] = {}
    monkeypatch.setattr(kafka_log, "KafkaConsumer", lambda **options: made.update(options))
    kafka_consumer("broker:9092")
    assert made["fetch_max_wait_ms"] <= 50
    assert made["request_timeout_ms"] < kafka_log.READ_TIMEOUT * 1000  # room for a retry
    assert made["group_id"] is None


def test_a_write_at_the_next_offset_to_read_is_not_read_back() -> None:
    topic = Topic()
    topic.append(0, "A212345670", b"key-0")
    consumer = FakeConsumer(topic)
    log = key_log([consumer], [FakeProducer(topic)])
    assert list(log.catch_up()) == [("A212345670", b"key-0")]
    log.write("A212345672", b"key-2")  # partition 0, at offset 1: the next to read
    assert consumer.seeks == {TopicPartition(TOPIC, 0): 2}
    assert list(log.catch_up()) == []


def test_a_write_after_others_records_leaves_them_to_be_read() -> None:
    topic = Topic()
    consumer = FakeConsumer(topic)
    log = key_log([consumer], [FakeProducer(topic)])
    assert list(log.catch_up()) == []
    topic.append(0, "A212345670", b"theirs")  # another writer, not read yet
    log.write("A212345672", b"ours")
    assert consumer.seeks == {}
    assert list(log.catch_up()) == [("A212345670", b"theirs"), ("A212345672", b"ours")]


class OnePollThenStuck(FakeConsumer):
    """Hands out one record per poll; after its first poll every position request fails,
    as a client does whose broker went away in the middle of a read."""

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Record]]:
        for tp, at in self.positions.items():
            records = self.topic.partitions[tp.partition][at : at + 1]
            if records:
                self.positions[tp] = at + 1
                self.stale_calls = 99
                return {tp: records}
        return {}

    def position(self, tp: TopicPartition, timeout_ms: int) -> int:
        if self.stale_calls:
            raise KafkaTimeoutError("Failed to get the position in 5000 ms")
        return self.positions[tp]


def test_a_read_broken_off_midway_hands_out_each_record_once_as_it_is_read() -> None:
    topic = Topic()
    for n in range(3):
        topic.append(0, f"A21234567{2 * n}", f"key-{n}".encode())
    stuck, fresh = OnePollThenStuck(topic), FakeConsumer(topic)
    log = key_log([stuck, fresh], [])
    records = log.catch_up()
    assert next(records) == ("A212345670", b"key-0")  # before the rest is read
    assert list(records) == [("A212345672", b"key-1"), ("A212345674", b"key-2")]
    assert stuck.closed
    assert fresh.seeks[TopicPartition(TOPIC, 0)] == 1  # just past what was handed out
