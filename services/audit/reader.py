"""Replaying the topics from the broker, as an auditor (KAFKA-NOTES.md, "Reading topics").

The replay has its own kafka-python consumer: no consumer group (`group_id=None`), the
partitions assigned by hand, never a commit, never a topic created. It reads from the
first offset, or from the first record written at or after `from_timestamp` (Kafka's
record timestamps), up to the end offsets it found when it started: a replay is a
snapshot, and events written meanwhile wait for the next one.

Bounded memory: each partition buffers at most `buffer_per_partition` raw records (a
partition whose buffer is full is paused), and the merge holds one head per partition.
Events are decoded one at a time as they leave the merge.
"""

from __future__ import annotations

import gc
import heapq
import time
from collections import deque
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from schemas.codec import EventValidationError
from schemas.envelope import Envelope
from services.audit.events import (
    TOPIC_RANK,
    Deduplicator,
    Logged,
    OrderKey,
    ReplayStats,
    data_checksum,
    decode_event,
    occurred_at_of,
    unique_events,
)
from services.keys.sealing import KeyLookup, open_envelope
from services.keys.store import Erased
from services.runtime.security import kafka_python_options

ProgressSink = Callable[[int, int], None]
"""Called with (events read so far, events in the replay) as the replay goes."""

Opener = Callable[[str, Envelope[Any]], tuple[Envelope[Any], bool]]
"""Opens a decoded event's sealed personal data: (topic, envelope) -> (envelope, erased)."""


def opening_with(keys: KeyLookup | None) -> Opener:
    """Open ``person-returned`` records with ``keys``: an erased one stays sealed.

    Without keys only records never sealed (schema v1, upcast) open. A seal that does not
    open with its own key raises `SealError`: the record is reported as undecodable.
    """

    def open_event(topic: str, envelope: Envelope[Any]) -> tuple[Envelope[Any], bool]:
        if topic != "person-returned":
            return envelope, False
        opened = open_envelope(envelope, keys)
        if isinstance(opened, Erased):
            return envelope, keys is not None  # without keys: unread here, not erased
        return opened, False

    return open_event


PROGRESS_EVERY = 2_000

YOUNG_COLLECTION_EVERY = 50_000
"""Allocations between collections of the young generation while a replay runs."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Collect garbage cycles less often for the duration of a replay, then as before.

    A replay allocates a few hundred objects per event (records, models) and keeps many
    (the de-duplication map, each audit's state), but makes almost no cycles: at
    Python's default of 700 allocations the collector took about a third of verify's
    CPU time (bench/replay.py), rescanning what lives on. Every 50,000 the garbage it
    would find is at most a few megabytes.
    """
    before = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_EVERY, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


class ReplayError(RuntimeError):
    """The replay cannot start or cannot finish; the message says what to check."""


@dataclass(frozen=True)
class ReplaySource:
    """Where the topics are: the brokers and the topic prefix of the stack to audit."""

    bootstrap_servers: str
    topic_prefix: str = ""

    def physical(self, topic: str) -> str:
        return f"{self.topic_prefix}{topic}"


@dataclass
class _Partition:
    tp: TopicPartition
    topic: str  # contract name
    index: int
    end: int
    next_offset: int
    buffer: deque[tuple[OrderKey, Any]]
    counted: bool = True

    @property
    def finished(self) -> bool:
        return self.next_offset >= self.end and not self.buffer


class Replay:
    """The events of `topics`, each once, in log order (`services.audit.events`).

    Iterate it once. `stats` counts what was read, the duplicates skipped, conflicting
    repeats and undecodable records (which are skipped, and listed there).
    `consumer_factory` is kafka-python's `KafkaConsumer` but in tests. A topic in
    `optional` that the cluster lacks is left out (and listed in `missing`) rather than
    failing the replay: a stack from before that topic existed. Only records of `counted`
    topics (all, by default) are counted in `stats` and in the progress: a replay that
    reads a topic another replay counts (`services.audit.parallel`).
    """

    def __init__(
        self,
        source: ReplaySource,
        topics: Sequence[str],
        *,
        from_timestamp: datetime | None = None,
        progress: ProgressSink | None = None,
        buffer_per_partition: int = 200,
        idle_timeout: float = 30.0,
        consumer_factory: Callable[..., Any] | None = None,
        optional: Collection[str] = (),
        opener: Opener | None = None,
        counted: Collection[str] | None = None,
    ) -> None:
        self.opener = opener or opening_with(None)
        self.source = source
        self.topics = tuple(topics)
        self.counted = frozenset(self.topics if counted is None else counted)
        self.seen = Deduplicator()
        self.high: OrderKey | None = None
        """The highest order key of a counted record yielded so far."""
        self.optional = frozenset(optional)
        self.missing: list[str] = []
        self.from_timestamp = from_timestamp
        self.progress = progress or (lambda done, total: None)
        self.buffer_per_partition = buffer_per_partition
        self.idle_timeout = idle_timeout
        self.consumer_factory = consumer_factory or KafkaConsumer
        self.stats = ReplayStats()
        self.total = 0
        self._paused: set[TopicPartition] = set()

    def __iter__(self) -> Iterator[Logged]:
        consumer = self.consumer_factory(
            bootstrap_servers=self.source.bootstrap_servers,
            client_id="returns-audit",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            max_poll_records=5_000,
            fetch_max_bytes=8 * 1024 * 1024,
            max_partition_fetch_bytes=256 * 1024,
            **kafka_python_options(),  # the auditor's credentials, from the environment
        )
        try:
            partitions = self._assign(consumer)
            with fewer_collections():
                events = self._decoded(self._merged(consumer, partitions))
                yield from unique_events(
                    events,
                    self.stats,
                    seen=self.seen,
                    counted=self.counted,
                    position=lambda: self.high,
                )
        finally:
            consumer.close()

    def _assign(self, consumer: KafkaConsumer) -> list[_Partition]:
        existing = consumer.topics()
        absent = [t for t in self.topics if self.source.physical(t) not in existing]
        self.missing = [t for t in absent if t in self.optional]
        missing = [t for t in absent if t not in self.optional]
        if missing:
            names = ", ".join(self.source.physical(t) for t in missing)
            raise ReplayError(
                f"no such topic on {self.source.bootstrap_servers}: {names} "
                f"(is the prefix {self.source.topic_prefix!r} right?)"
            )
        owners: dict[TopicPartition, str] = {}
        for topic in self.topics:
            if topic in self.missing:
                continue
            name = self.source.physical(topic)
            for number in sorted(consumer.partitions_for_topic(name) or ()):
                owners[TopicPartition(name, number)] = topic
        tps = list(owners)
        consumer.assign(tps)
        starts = self._start_offsets(consumer, tps)
        ends = consumer.end_offsets(tps)
        partitions = []
        for index, tp in enumerate(tps):
            consumer.seek(tp, starts[tp])
            counted = owners[tp] in self.counted
            partitions.append(
                _Partition(tp, owners[tp], index, ends[tp], starts[tp], deque(), counted)
            )
        self.total = sum(max(0, p.end - p.next_offset) for p in partitions if p.counted)
        return partitions

    def _start_offsets(
        self, consumer: KafkaConsumer, tps: list[TopicPartition]
    ) -> dict[TopicPartition, int]:
        beginnings: dict[TopicPartition, int] = consumer.beginning_offsets(tps)
        if self.from_timestamp is None:
            return beginnings
        millis = int(self.from_timestamp.timestamp() * 1000)
        found = consumer.offsets_for_times(dict.fromkeys(tps, millis))
        ends: dict[TopicPartition, int] = consumer.end_offsets(tps)
        return {tp: found[tp].offset if found.get(tp) else ends[tp] for tp in tps}

    def _merged(
        self, consumer: KafkaConsumer, partitions: list[_Partition]
    ) -> Iterator[tuple[_Partition, OrderKey, Any]]:
        """Raw records of every partition, merged by their heads' order keys."""
        by_tp = {p.tp: p for p in partitions}
        starving = {p.index for p in partitions if not p.finished}
        heap: list[tuple[OrderKey, int]] = []
        done = 0
        self.progress(0, self.total)
        while True:
            if starving:
                self._fill(consumer, partitions, by_tp, starving, heap)
                continue
            if not heap:
                break
            _, index = heapq.heappop(heap)
            part = partitions[index]
            key, record = part.buffer.popleft()
            if part.buffer:
                heapq.heappush(heap, (part.buffer[0][0], index))
            elif not part.finished:
                starving.add(index)
            if part.counted:
                done += 1
                if done % PROGRESS_EVERY == 0:
                    self.progress(done, self.total)
            yield part, key, record
        self.progress(done, self.total)

    def _fill(
        self,
        consumer: KafkaConsumer,
        partitions: list[_Partition],
        by_tp: dict[TopicPartition, _Partition],
        starving: set[int],
        heap: list[tuple[OrderKey, int]],
    ) -> None:
        """Poll until every starving partition has a record or is finished."""
        self._pause_full(consumer, partitions)
        deadline = time.monotonic() + self.idle_timeout
        while starving:
            batch = consumer.poll(timeout_ms=500)
            for tp, records in batch.items():
                part = by_tp[tp]
                had_head = bool(part.buffer)
                self._buffer(part, records)
                if part.buffer and not had_head:
                    heapq.heappush(heap, (part.buffer[0][0], part.index))
                    starving.discard(part.index)
            for index in list(starving):
                part = partitions[index]
                if part.next_offset < part.end and consumer.position(part.tp) >= part.end:
                    part.next_offset = part.end  # the rest were transaction markers
                if part.finished:
                    starving.discard(index)
            if batch:
                deadline = time.monotonic() + self.idle_timeout
            elif time.monotonic() > deadline:
                waiting = ", ".join(str(partitions[i].tp) for i in sorted(starving))
                raise ReplayError(f"no records for {self.idle_timeout:.0f} s from {waiting}")

    def _pause_full(self, consumer: KafkaConsumer, partitions: list[_Partition]) -> None:
        """Pause the partitions whose buffer is full, resume the others."""
        full = {p.tp for p in partitions if len(p.buffer) >= self.buffer_per_partition}
        resumed = self._paused - full
        if full - self._paused:
            consumer.pause(*(full - self._paused))
        if resumed:
            consumer.resume(*resumed)
            release_parked_records(consumer, resumed)
        self._paused = full

    def _buffer(self, part: _Partition, records: list[Any]) -> None:
        rank = TOPIC_RANK.get(part.topic, 99)
        for record in records:
            if record.offset >= part.end:
                part.next_offset = part.end
                break
            if part.counted:
                self.stats.read += 1
            at = occurred_at_of(record.value, record.timestamp)
            key: OrderKey = (at, rank, record.timestamp, part.tp.partition, record.offset)
            part.buffer.append((key, record))
            part.next_offset = record.offset + 1

    def _decoded(self, records: Iterator[tuple[_Partition, OrderKey, Any]]) -> Iterator[Logged]:
        for part, key, record in records:
            if part.counted and (self.high is None or key > self.high):
                self.high = key
            try:
                decoded = decode_event(part.topic, record.value)
                envelope, erased = self.opener(part.topic, decoded)
            except (EventValidationError, ValueError) as exc:
                if part.counted:
                    where = f"{part.topic}[{record.partition}]@{record.offset}"
                    self.stats.undecodable.append((where, str(exc)[:300]))
                    self.stats.undecodable_at.append(key if self.high is None else self.high)
                continue
            checksum = data_checksum(record.value)
            yield Logged(
                part.topic,
                record.partition,
                record.offset,
                envelope,
                checksum,
                record.timestamp,
                erased,
            )


def release_parked_records(consumer: Any, resumed: Iterable[TopicPartition]) -> None:
    """Make kafka-python fetch resumed partitions again (a workaround for its fetcher).

    kafka-python 3 keeps the records it had parsed for a partition that was paused
    ("parked", KAFKA-7548), and hands them back only when no other partition's records
    are in line; until then it does not fetch that partition. Near the end of a replay,
    with the other partitions finished or paused, a resumed partition could wait
    forever. Its parked records were never returned, so dropping them is safe: the
    partition is fetched again from its position. Other versions are left alone.
    """
    fetcher = getattr(consumer, "_fetcher", None)
    parked = getattr(fetcher, "_paused_partition_records", None)
    if not isinstance(parked, dict):
        return
    for tp in resumed:
        records = parked.pop(tp, None)
        if records is not None:
            records.drain()
