"""The ``person-keys`` topic through kafka-python: read to its end, write with an ack.

Both calls run on intake's and screening's record path (in a worker thread), once per
sealed or opened record, so they must stay fast and must outlive the loss of a broker:

- the consumer long-polls with a short ``fetch.max.wait.ms``: a broker answers the
  requests of one connection in order, so a pending fetch on a partition that gets no
  new record holds the next ``ListOffsets`` to that broker for the whole wait (500 ms by
  default). On a cluster, where the key partitions have different leaders, that was
  every ``catch_up``, and intake fell to about 2 records/s (docs/adr/0033);
- each broker request has its own short timeout, and a failed attempt closes the client
  and makes a new one (a new client bootstraps afresh, see `_reconnected`), with a
  growing pause, until the call's deadline: only then is `KeyLogUnavailable` raised;
- a record it wrote at the very offset it was to read next is not read back: the
  consumer seeks past it (its writer has it already), so a writer that reads to the end
  before each write pays the read only for what others wrote (docs/adr/0034).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from services.keys.store import KeyRecord
from services.runtime.security import kafka_python_options

log = logging.getLogger(__name__)

READ_TIMEOUT = 15.0  # seconds for one `catch_up`, retries included (see `patient`)
WRITE_TIMEOUT = 15.0  # seconds for one acknowledged `write`, retries included
ATTEMPT_TIMEOUT_MS = 5_000  # one broker request (ListOffsets, a produce ack, metadata)
FETCH_WAIT_MS = 10  # fetch.max.wait.ms: see the module's docstring
FIRST_PAUSE, LONGEST_PAUSE = 0.2, 2.0  # seconds between two attempts


class KeyLogUnavailable(RuntimeError):
    """The key topic could not be read or written in time; the message says which."""


def kafka_consumer(bootstrap_servers: str) -> Any:
    """A consumer of no group that never commits, tuned for reading to the end often."""
    return KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        client_id="returns-keys",
        group_id=None,
        enable_auto_commit=False,
        allow_auto_create_topics=False,
        fetch_max_wait_ms=FETCH_WAIT_MS,
        request_timeout_ms=ATTEMPT_TIMEOUT_MS,
        bootstrap_timeout_ms=ATTEMPT_TIMEOUT_MS,
        **kafka_python_options(),
    )


def kafka_producer(bootstrap_servers: str) -> Any:
    """An acks=all producer whose ``send`` waits at most one attempt for metadata."""
    return KafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        client_id="returns-keys",
        max_block_ms=ATTEMPT_TIMEOUT_MS,
        bootstrap_timeout_ms=ATTEMPT_TIMEOUT_MS,
        **kafka_python_options(),
    )


class KafkaKeyLog:
    """One consumer (no group, no commits, partitions assigned) and one producer, made lazily.

    ``partition_for`` maps a case id to its partition: the project's partitioner.
    ``make_consumer`` and ``make_producer`` build the clients from the bootstrap servers
    (kafka-python's by default).
    """

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str,
        partition_for: Callable[[str], int],
        *,
        make_consumer: Callable[[str], Any] = kafka_consumer,
        make_producer: Callable[[str], Any] = kafka_producer,
        patient: bool = False,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.partition_for = partition_for
        self._make_consumer = make_consumer
        self._make_producer = make_producer
        # A service's record path waits for the broker however long it is away: the
        # record stays unacknowledged meanwhile, and nothing else has to recover. A
        # crash of the agent instead would leave its partition unread until the worker
        # restarts. Commands (erase, audit) give up after the timeouts, with a clear error.
        self.patient = patient
        self._consumer: Any = None
        self._producer: Any = None
        self._partitions: list[TopicPartition] = []
        self._positions: dict[TopicPartition, int] = {}  # the next offset to read

    def catch_up(self) -> Iterator[KeyRecord]:
        """The records written since the last catch-up, as they are read, to the end.

        Yielded a poll at a time rather than gathered: a worker reading a topic of
        hundreds of thousands of keys holds one poll of raw records, not all of them.
        A failed attempt reconnects at the positions reached, so what was yielded is
        not yielded again.
        """
        deadline = self._deadline(READ_TIMEOUT)
        pause = FIRST_PAUSE
        while True:
            try:
                yield from self._read_to_end(deadline)
                return
            except KafkaError as exc:
                pause = self._after_failure("read", exc, deadline, pause)
                self._consumer = self._reconnected(self._consumer)

    def write(self, case_id: str, value: bytes | None) -> None:
        """Send one record and wait for its ack; a retry re-sends the very same bytes,
        so a record written twice (the first ack lost) is the same record twice."""
        deadline = self._deadline(WRITE_TIMEOUT)
        pause = FIRST_PAUSE
        partition = self.partition_for(case_id)
        while True:
            try:
                if self._producer is None:
                    self._producer = self._make_producer(self.bootstrap_servers)
                sent = self._producer.send(
                    self.topic, key=case_id.encode(), value=value, partition=partition
                )
                written = sent.get(timeout=min(ATTEMPT_TIMEOUT_MS / 1000, _left(deadline)))
                self._skip_own(TopicPartition(self.topic, partition), written.offset)
                return
            except Exception as exc:  # kafka-python raises its own error types from get()
                pause = self._after_failure("write to", exc, deadline, pause)
                _close(self._producer, timeout=0)  # fails what it still holds
                self._producer = None

    def close(self) -> None:
        _close(self._consumer, autocommit=False, timeout_ms=1000)
        _close(self._producer, timeout=5)
        self._consumer = self._producer = None

    def _deadline(self, seconds: float) -> float:
        return float("inf") if self.patient else time.monotonic() + seconds

    def _read_to_end(self, deadline: float) -> Iterator[KeyRecord]:
        consumer = self._consumer_ready()
        if not self._partitions:
            return
        ends = consumer.end_offsets(self._partitions, timeout_ms=ATTEMPT_TIMEOUT_MS)
        while self._behind(consumer, ends):
            if time.monotonic() > deadline:
                raise KeyLogUnavailable(f"could not read {self.topic} to its end in time")
            for tp, records in consumer.poll(timeout_ms=200).items():
                for record in records:
                    self._positions[tp] = record.offset + 1  # a reconnect resumes after it
                    if record.key is not None:
                        yield record.key.decode(), record.value

    def _behind(self, consumer: Any, ends: dict[TopicPartition, int]) -> bool:
        for tp in self._partitions:
            self._positions[tp] = consumer.position(tp, timeout_ms=ATTEMPT_TIMEOUT_MS)
        return any(self._positions[tp] < ends[tp] for tp in self._partitions)

    def _skip_own(self, tp: TopicPartition, offset: int) -> None:
        """Seek past the record just written at ``offset`` when it is the next one to
        read: nobody else's record lies between, so nothing is skipped but our own."""
        if self._consumer is not None and self._positions.get(tp) == offset:
            self._consumer.seek(tp, offset + 1)
            self._positions[tp] = offset + 1

    def _after_failure(self, doing: str, exc: Exception, deadline: float, pause: float) -> float:
        """Wait before the next attempt and return the pause after it; raise once the
        deadline would pass."""
        problem = type(exc).__name__
        if _left(deadline) <= pause:
            raise KeyLogUnavailable(f"could not {doing} {self.topic}: {problem}") from exc
        log.warning("%s %s failed (%s); retrying with new clients", doing, self.topic, problem)
        time.sleep(pause)
        return min(pause * 2, LONGEST_PAUSE)

    def _reconnected(self, stale: Any) -> Any:
        """A new consumer at the positions the stale one had reached.

        kafka-python 3 never learns again of a broker that was down when it last
        refreshed its metadata: once that broker leads a partition again (the
        controller moves leaders back to their preferred replica), every request
        for the partition times out, for good. A new client bootstraps afresh.
        """
        _close(stale, autocommit=False, timeout_ms=1000)
        self._consumer = None
        self._partitions = []
        try:
            consumer = self._consumer_ready()
        except KafkaError:
            return None  # the next attempt tries again
        for tp in self._partitions:
            if tp in self._positions:
                consumer.seek(tp, self._positions[tp])
        return consumer

    def _consumer_ready(self) -> Any:
        if self._consumer is None:
            self._consumer = self._make_consumer(self.bootstrap_servers)
        if not self._partitions:
            numbers = self._consumer.partitions_for_topic(self.topic) or set()
            self._partitions = [TopicPartition(self.topic, n) for n in sorted(numbers)]
            if self._partitions:
                self._consumer.assign(self._partitions)
                self._consumer.seek_to_beginning(*self._partitions)
        return self._consumer


def _close(client: Any, **bounded: Any) -> None:
    """Close a client within a bounded time: one stuck on a dead broker must not hold us."""
    if client is None:
        return
    try:
        client.close(**bounded)
    except Exception as exc:  # best effort: the client is dropped either way
        log.debug("closing a key-log client failed: %s", type(exc).__name__)


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())  # inf for a patient log
