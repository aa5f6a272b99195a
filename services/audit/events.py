"""One replayed event, the log order every audit uses, and recognising repeated events.

Log order. The replay merges every partition of every topic it reads into one stream:
each partition is read in offset order (the order its consumers saw), and the next
event is taken from the partition whose head has the earliest `occurred_at`; ties go
to the topic that comes first in the pipeline (a cause before its effects), then to
the record's Kafka timestamp (the order one producer sent a batch of events with one
`occurred_at` in), then to the partition and offset. See docs/adr/0007-audit-replay.md.

Repeated events. The contract's idempotency: an event processed twice carries the same
`event_id` and the same `data`. The first occurrence in log order counts; a repeat is
a duplicate, and a repeat whose `data` differs is a conflict, which audits report.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from schemas.codec import decode, encode
from schemas.envelope import Envelope
from schemas.registry import TOPICS

PIPELINE_ORDER: tuple[str, ...] = (
    "intake-rejected",
    "person-returned",
    "location-status-changed",
    "capacity-updated",
    "provider-capacity-changed",
    "shelter-departed",
    "screened",
    "placement-withdrawn",
    "placement-deferred",
    "placed",
    "legal-aid-requested",
    "care-requested",
    "legal-aid-updated",
    "request-updated",
    "notification-delivered",
    "notification-failed",
)
"""Every enveloped topic, causes before effects: breaks ties of `occurred_at`.

A withdrawal comes before the placement or deferral it makes room for (`GROUP_CHANGED`),
and a partner's report (`legal-aid-updated`) before the withdrawal it causes."""

LATER_TOPICS = frozenset({"legal-aid-updated", "provider-capacity-changed"})
"""Topics a stack from before partner reports lacks: a replay leaves them out if absent."""

TOPIC_RANK = {name: rank for rank, name in enumerate(PIPELINE_ORDER)}

OrderKey = tuple[datetime, int, int, int, int]

_OCCURRED_AT = re.compile(rb'"occurred_at":"([^"]+)"')


@dataclass(frozen=True, slots=True)
class Logged:
    """An event as recorded: its contract topic, partition, offset and envelope."""

    topic: str
    partition: int
    offset: int
    envelope: Envelope[Any]
    checksum: int
    """CRC-32 of the record's `data` bytes: tells a duplicate from a conflicting repeat."""
    timestamp_ms: int
    """The record's Kafka timestamp (when its producer sent it)."""
    erased: bool = False
    """A `person-returned` whose personal data was erased: it stays sealed (ADR 0021)."""

    @classmethod
    def of(cls, topic: str, envelope: Envelope[Any], partition: int = 0, offset: int = 0) -> Logged:
        """The event as it would be recorded at `partition`/`offset` (tests, generators)."""
        checksum = data_checksum(encode(envelope))
        millis = int(envelope.occurred_at.timestamp() * 1000)
        return cls(topic, partition, offset, envelope, checksum, millis)

    @property
    def where(self) -> str:
        """`topic[partition]@offset`, how an auditor finds the record again."""
        return f"{self.topic}[{self.partition}]@{self.offset}"

    @property
    def occurred_at(self) -> datetime:
        return self.envelope.occurred_at

    @property
    def event_id(self) -> str:
        return self.envelope.event_id

    @property
    def data(self) -> Any:
        return self.envelope.data

    def order_key(self) -> OrderKey:
        """This event's place in log order."""
        rank = TOPIC_RANK.get(self.topic, 99)
        return (self.occurred_at, rank, self.timestamp_ms, self.partition, self.offset)


def in_log_order(events: Iterable[Logged]) -> list[Logged]:
    """`events` sorted into log order (for small collections: the replay merges instead)."""
    return sorted(events, key=Logged.order_key)


def data_checksum(raw: bytes) -> int:
    """CRC-32 of an encoded envelope's `data` (the envelope's last field, by the codec)."""
    return zlib.crc32(raw[raw.find(b'"data":') :])


def occurred_at_of(raw: bytes, fallback_ms: int) -> datetime:
    """The envelope's `occurred_at` read without decoding it, else the record's timestamp."""
    match = _OCCURRED_AT.search(raw)
    if match is not None:
        try:
            moment = datetime.fromisoformat(match.group(1).decode())
            if moment.utcoffset() is not None:
                return moment
        except ValueError:
            pass
    return datetime.fromtimestamp(fallback_ms / 1000, UTC)


def decode_event(topic: str, raw: bytes) -> Envelope[Any]:
    """Decode a record of contract topic `topic`, upcasting old versions like any reader.

    `schemas.codec.decode` parses a record at the current version once; anything else it
    upcasts, and it reports every problem (`EventValidationError`), as it does for a
    record of another type than the topic carries.
    """
    model = TOPICS[topic].value
    if model is None:
        raise ValueError(f"{topic} carries raw submissions, not events")
    return decode(raw, model)


@dataclass
class Conflict:
    """Two events with one `event_id` but different `data`: idempotency broken."""

    event_id: str
    repeated_at: str
    at: OrderKey | None = None
    """Where the repeat stands in its replay's order (`ReplayStats.undecodable_at`)."""


@dataclass
class ReplayStats:
    """What a replay read, besides the events it passed on."""

    read: int = 0
    duplicates: int = 0
    by_topic: dict[str, int] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    undecodable: list[tuple[str, str]] = field(default_factory=list)  # (where, problem)
    undecodable_at: list[OrderKey] = field(default_factory=list)
    """For each undecodable record, the highest order key its replay had yielded by then.

    Two replays of disjoint topics, each merged greedily, interleave into the one merge
    of all their partitions by these running maxima (`services.audit.parallel`)."""


class Deduplicator:
    """Remembers each `event_id` seen, as a 128-bit integer, with the checksum of its data.

    About 130 bytes an event: the one piece of state a replay keeps per event. The
    topic's rank goes along in the low bits, so that an `event_id` repeated on another
    topic is noticed (`crossed_topics`): replays of disjoint topics cannot see that one.
    """

    def __init__(self) -> None:
        self._seen: dict[int, int] = {}
        self.crossed_topics = False

    def check(self, event: Logged) -> Conflict | bool:
        """True for a first occurrence, False for a duplicate, a `Conflict` otherwise."""
        key = int(event.event_id.replace("-", ""), 16)
        previous = self._seen.get(key)
        if previous is None:
            self._seen[key] = event.checksum << _RANK_BITS | TOPIC_RANK.get(event.topic, 99)
            return True
        if previous & _RANK_MASK != TOPIC_RANK.get(event.topic, 99):
            self.crossed_topics = True
        if previous >> _RANK_BITS == event.checksum:
            return False
        return Conflict(event.event_id, event.where)

    def ids_on(self, topics: Collection[str]) -> set[int]:
        """The `event_id`s (as integers) first seen on one of `topics`."""
        ranks = {TOPIC_RANK.get(topic, 99) for topic in topics}
        return {key for key, value in self._seen.items() if value & _RANK_MASK in ranks}


_RANK_BITS = 7
_RANK_MASK = (1 << _RANK_BITS) - 1


def unique_events(
    events: Iterable[Logged],
    stats: ReplayStats | None = None,
    *,
    seen: Deduplicator | None = None,
    counted: Collection[str] | None = None,
    position: Callable[[], OrderKey | None] | None = None,
) -> Iterator[Logged]:
    """Each event once, in the order given; duplicates and conflicts are counted in `stats`.

    A conflicting repeat is dropped too (the first occurrence stands, as for intake's
    resubmissions), and listed in `stats.conflicts`. Only events of `counted` topics (all,
    by default) are counted; the others are still passed on once. `position` tells a
    conflict's place in the replay (`Conflict.at`).
    """
    stats = stats if stats is not None else ReplayStats()
    seen = seen if seen is not None else Deduplicator()
    for event in events:
        outcome = seen.check(event)
        if outcome is True:
            if counted is None or event.topic in counted:
                stats.by_topic[event.topic] = stats.by_topic.get(event.topic, 0) + 1
            yield event
        elif counted is not None and event.topic not in counted:
            continue
        elif outcome is False:
            stats.duplicates += 1
        else:
            outcome.at = position() if position is not None else None
            stats.conflicts.append(outcome)
