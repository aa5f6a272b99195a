"""What ``returns top`` reads: the observed topics, and each service's committed offsets.

Both read as an auditor does: the topic reader has no consumer group (it commits
nothing and moves no service's offsets), and the lag probe only asks for offsets.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from services.observe import OBSERVED_TOPICS, SERVICE_INPUTS, Observation, consumer_group
from services.observe import lane_lags as compute_lane_lags
from services.observe import observe as observation_of
from services.runtime.security import kafka_python_options
from services.runtime.settings import Settings

LaneLags = dict[str, dict[str, int | None]]  # service -> lane -> lag (None: unknown)
MAX_POLL_RECORDS = 2000
OFFSETS_TIMEOUT_MS = 5000


class TopicReader:
    """Reads ``topics`` (contract names) from the end, or from the beginning, with no group."""

    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str] = OBSERVED_TOPICS,
        *,
        from_beginning: bool = False,
    ) -> None:
        self._names = {settings.topic(name): name for name in topics}
        self._consumer = KafkaConsumer(
            bootstrap_servers=settings.bootstrap_servers,
            group_id=None,
            enable_auto_commit=False,
            client_id="returns-top",
            max_poll_records=MAX_POLL_RECORDS,
            **kafka_python_options(settings.security),
        )
        self.partitions = [
            TopicPartition(name, p)
            for name in self._names
            for p in sorted(self._consumer.partitions_for_topic(name) or ())
        ]
        self.missing = sorted(
            self._names[n] for n in self._names if not any(tp.topic == n for tp in self.partitions)
        )
        self._consumer.assign(self.partitions)
        self._targets: Mapping[TopicPartition, int] = {}
        if not self.partitions:  # nothing to read yet: every poll answers nothing
            return
        if from_beginning:
            self._consumer.seek_to_beginning(*self.partitions)
        else:
            self._consumer.seek_to_end(*self.partitions)
        self._targets = self._consumer.end_offsets(self.partitions)

    def poll(self, timeout: float) -> list[Observation]:
        """The events that arrive within ``timeout`` seconds (unreadable ones are skipped)."""
        if not self.partitions:
            time.sleep(max(0.0, timeout))
            return []
        batches = self._consumer.poll(timeout_ms=max(0, round(timeout * 1000)))
        found: list[Observation] = []
        for records in batches.values():
            for record in records:
                seen = observation_of(self._names[record.topic], record.value)
                if seen is not None:
                    found.append(seen)
        return found

    def caught_up(self) -> bool:
        """Whether every partition was read up to where it ended when the reader started."""
        return all(self._consumer.position(tp) >= end for tp, end in self._targets.items())

    def read_until_caught_up(self, timeout: float) -> list[Observation]:
        """Everything up to the start's end offsets (or what came within ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        found: list[Observation] = []
        while time.monotonic() < deadline:
            found.extend(self.poll(0.2))
            if self.caught_up():
                break
        return found

    def close(self) -> None:
        """Close the consumer."""
        self._consumer.close()

    def __enter__(self) -> TopicReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LagProbe:
    """Each service's consumer lag on its input topic, per lane (:mod:`services.observe.lag`)."""

    def __init__(self, settings: Settings, lanes: Mapping[str, Sequence[int]]) -> None:
        self.settings = settings
        self.lanes = {lane: tuple(parts) for lane, parts in lanes.items()}
        self._admin: KafkaAdminClient | None = None
        self._consumer: KafkaConsumer | None = None
        self.last_error: str | None = None

    def measure(self) -> LaneLags:
        """Lag per service and lane; every lag None (and ``last_error`` set) when Kafka fails."""
        try:
            lags = self._measure()
        except (KafkaError, OSError) as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"
            self.close()  # reconnect next time
            return {service: dict.fromkeys(self.lanes) for service in SERVICE_INPUTS}
        self.last_error = None
        return lags

    def _measure(self) -> LaneLags:
        admin, consumer = self._clients()
        wanted = {
            consumer_group(self.settings.topic_prefix, service): self._partitions(consumer, topic)
            for service, topic in SERVICE_INPUTS.items()
        }
        wanted = {group: partitions for group, partitions in wanted.items() if partitions}
        committed = admin.list_group_offsets(wanted) if wanted else {}
        every = [tp for partitions in wanted.values() for tp in partitions]
        ends = consumer.end_offsets(every, timeout_ms=OFFSETS_TIMEOUT_MS) if every else {}
        starts = consumer.beginning_offsets(every, timeout_ms=OFFSETS_TIMEOUT_MS) if every else {}
        lags: LaneLags = {}
        for service, topic in SERVICE_INPUTS.items():
            name = self.settings.topic(topic)
            offsets = committed.get(consumer_group(self.settings.topic_prefix, service), {})
            lags[service] = compute_lane_lags(
                {tp.partition: _offset(meta) for tp, meta in offsets.items() if tp.topic == name},
                {tp.partition: n for tp, n in ends.items() if tp.topic == name},
                {tp.partition: n for tp, n in starts.items() if tp.topic == name},
                self.lanes,
            )
        return lags

    def _partitions(self, consumer: KafkaConsumer, topic: str) -> list[TopicPartition]:
        """The lanes' partitions of ``topic``; none when the topic does not exist."""
        name = self.settings.topic(topic)
        existing = consumer.partitions_for_topic(name) or set()
        return [
            TopicPartition(name, p) for parts in self.lanes.values() for p in parts if p in existing
        ]

    def _clients(self) -> tuple[KafkaAdminClient, KafkaConsumer]:
        servers = self.settings.bootstrap_servers
        security = kafka_python_options(self.settings.security)
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=servers, client_id="returns-top", **security
            )
        if self._consumer is None:
            self._consumer = KafkaConsumer(
                bootstrap_servers=servers,
                group_id=None,
                client_id="returns-top-offsets",
                **security,
            )
        return self._admin, self._consumer

    def close(self) -> None:
        """Close the admin client and the offsets consumer (reopened on the next measure)."""
        for client in (self._admin, self._consumer):
            if client is not None:
                client.close()
        self._admin = self._consumer = None

    def __enter__(self) -> LagProbe:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _offset(meta: Any) -> int:
    offset = getattr(meta, "offset", -1)
    return offset if isinstance(offset, int) else -1
