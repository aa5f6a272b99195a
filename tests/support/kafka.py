"""Per-test topics and a reader that polls the real broker with a deadline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from schemas.codec import decode_any
from schemas.envelope import Envelope
from services.runtime.admin import ensure_topics
from services.runtime.context import Runtime, build_runtime
from services.runtime.settings import Settings


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]

    def event(self) -> Envelope[Any]:
        return decode_any(self.value)


def fresh_runtime(bootstrap: str, **overrides: Any) -> Runtime:
    """A runtime with its own topic prefix (and so its own topics and consumer groups)."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    settings = replace(Settings(), bootstrap_servers=bootstrap, topic_prefix=prefix, **overrides)
    runtime = build_runtime(settings)
    ensure_topics(runtime.settings, runtime.topology)
    return runtime


def delete_topics(runtime: Runtime) -> None:
    """Delete every topic of this runtime's prefix, its services' changelogs included.

    A broker keeps a few open files per partition; tests that left their topics
    behind would exhaust the broker's file limit over a session.
    """
    prefix = runtime.settings.topic_prefix
    if not prefix:
        raise ValueError("refusing to delete topics without a test prefix")
    admin = KafkaAdminClient(bootstrap_servers=runtime.settings.bootstrap_servers)
    try:
        doomed = [name for name in admin.list_topics() if name.startswith(prefix)]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()


@contextmanager
def scratch_runtime(bootstrap: str, **overrides: Any) -> Iterator[Runtime]:
    """A fresh runtime whose topics are deleted afterwards."""
    runtime = fresh_runtime(bootstrap, **overrides)
    try:
        yield runtime
    finally:
        delete_topics(runtime)


def read_topic(
    settings: Settings,
    topic: str,
    *,
    until: Callable[[list[Record]], bool] = lambda records: False,
    timeout: float = 30.0,
    settle: float = 0.0,
) -> list[Record]:
    """Every record of contract topic ``topic`` from the first offset.

    Polls until ``until(records)`` holds or ``timeout`` passes; then keeps reading
    for ``settle`` seconds more, to see duplicates that would arrive late. Never
    commits: it uses no consumer group, as an auditor would.
    """
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, group_id=None, enable_auto_commit=False
    )
    try:
        name = settings.topic(topic)
        partitions = [
            TopicPartition(name, p) for p in sorted(consumer.partitions_for_topic(name) or [])
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        settled_at: float | None = None
        while time.monotonic() < (settled_at or deadline):
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(
                    Record(m.topic, m.partition, m.offset, m.key, m.value, list(m.headers or []))
                    for m in batch
                )
            if settled_at is None and until(records):
                settled_at = time.monotonic() + settle
                if settle == 0:
                    break
        return records
    finally:
        consumer.close()
