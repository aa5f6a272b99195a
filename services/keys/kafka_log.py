"""The ``person-keys`` topic through kafka-python: read to its end, write with an ack."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from services.keys.store import KeyRecord
from services.runtime.security import kafka_python_options

READ_TIMEOUT = 15.0
WRITE_TIMEOUT = 15.0


class KeyLogUnavailable(RuntimeError):
    """The key topic could not be read or written in time; the message says which."""


class KafkaKeyLog:
    """One consumer (no group, no commits, partitions assigned) and one producer, made lazily.

    ``partition_for`` maps a case id to its partition: the project's partitioner.
    """

    def __init__(self, bootstrap_servers: str, topic: str, partition_for: Callable[[str], int]):
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.partition_for = partition_for
        self._consumer: Any = None
        self._producer: Any = None
        self._partitions: list[TopicPartition] = []

    def catch_up(self) -> list[KeyRecord]:
        consumer = self._consumer_ready()
        if not self._partitions:
            return []
        try:
            ends = consumer.end_offsets(self._partitions)
        except KafkaError:
            consumer = self._reconnected(consumer)
            ends = consumer.end_offsets(self._partitions)
        found: list[KeyRecord] = []
        deadline = time.monotonic() + READ_TIMEOUT
        while any(consumer.position(tp) < ends[tp] for tp in self._partitions):
            if time.monotonic() > deadline:
                raise KeyLogUnavailable(f"could not read {self.topic} to its end in time")
            for records in consumer.poll(timeout_ms=200).values():
                found += [(r.key.decode(), r.value) for r in records if r.key is not None]
        return found

    def write(self, case_id: str, value: bytes | None) -> None:
        if self._producer is None:
            try:
                self._producer = KafkaProducer(
                    bootstrap_servers=self.bootstrap_servers,
                    acks="all",
                    client_id="returns-keys",
                    **kafka_python_options(),
                )
            except KafkaError as exc:
                problem = type(exc).__name__
                raise KeyLogUnavailable(
                    f"cannot reach {self.bootstrap_servers}: {problem}"
                ) from None
        sent = self._producer.send(
            self.topic, key=case_id.encode(), value=value, partition=self.partition_for(case_id)
        )
        try:
            sent.get(timeout=WRITE_TIMEOUT)
        except Exception as exc:  # kafka-python raises its own error types from get()
            problem = type(exc).__name__
            raise KeyLogUnavailable(f"could not write to {self.topic}: {problem}") from exc

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
        if self._producer is not None:
            self._producer.close()

    def _reconnected(self, stale: Any) -> Any:
        """A new consumer at the stale one's positions.

        kafka-python 3 never learns again of a broker that was down when it last
        refreshed its metadata: once that broker leads a partition again (the
        controller moves leaders back to their preferred replica), every request
        for the partition times out, for good. A new client bootstraps afresh.
        """
        positions = {tp: stale.position(tp) for tp in self._partitions}
        stale.close()
        self._consumer = None
        self._partitions = []
        consumer = self._consumer_ready()
        for tp, offset in positions.items():
            if tp in self._partitions:
                consumer.seek(tp, offset)
        return consumer

    def _consumer_ready(self) -> Any:
        if self._consumer is None:
            try:
                self._consumer = KafkaConsumer(
                    bootstrap_servers=self.bootstrap_servers,
                    client_id="returns-keys",
                    group_id=None,
                    enable_auto_commit=False,
                    allow_auto_create_topics=False,
                    **kafka_python_options(),
                )
            except KafkaError as exc:
                problem = type(exc).__name__
                raise KeyLogUnavailable(
                    f"cannot reach {self.bootstrap_servers}: {problem}"
                ) from None
        if not self._partitions:
            numbers = self._consumer.partitions_for_topic(self.topic) or set()
            self._partitions = [TopicPartition(self.topic, n) for n in sorted(numbers)]
            if self._partitions:
                self._consumer.assign(self._partitions)
                self._consumer.seek_to_beginning(*self._partitions)
        return self._consumer
