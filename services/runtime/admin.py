"""Create or update the project's topics, idempotently (``make topics``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import TopicAlreadyExistsError

from services.runtime.replication import replication_factor
from services.runtime.security import ClientSecurity, kafka_python_options
from services.runtime.settings import Settings
from services.runtime.topology import Topology

TOPICS_READY_TIMEOUT_MS = 60_000
"""How long a created topic may take to have a leader for every partition. kafka-python
waits 10 s by default; a replicated topic on a busy 3-node cluster took longer."""


@dataclass(frozen=True)
class TopicChange:
    topic: str
    action: str  # "created", "partitions", "config", "unchanged", "too-many-partitions"
    detail: str = ""


def ensure_topics(settings: Settings, topology: Topology) -> list[TopicChange]:
    """Make the cluster match the layout: create missing topics, grow partitions, set configs.

    Kafka cannot shrink a topic: one with more partitions than the layout is reported
    and left alone.
    """
    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="returns-admin",
        **kafka_python_options(settings.security),
    )
    try:
        return _ensure(admin, settings, topology)
    finally:
        admin.close()


def _ensure(admin: KafkaAdminClient, settings: Settings, topology: Topology) -> list[TopicChange]:
    existing = {t["name"]: len(t["partitions"]) for t in admin.describe_topics()}
    changes: list[TopicChange] = []
    missing: dict[str, Any] = {}
    for layout in topology.topics.values():
        name = settings.topic(layout.name)
        if name not in existing:
            missing[name] = {
                "num_partitions": layout.partitions,
                "replication_factor": replication_factor(),
                "configs": layout.config,
            }
            changes.append(TopicChange(name, "created", f"{layout.partitions} partitions"))
    if missing:
        # A concurrent `make topics` may have created them first: same layout.
        with contextlib.suppress(TopicAlreadyExistsError):
            admin.create_topics(missing)
        admin.wait_for_topics(list(missing), timeout_ms=TOPICS_READY_TIMEOUT_MS)
    for layout in topology.topics.values():
        name = settings.topic(layout.name)
        have = existing.get(name)
        if have is None:
            continue
        if have < layout.partitions:
            admin.create_partitions({name: layout.partitions})
            changes.append(TopicChange(name, "partitions", f"{have} -> {layout.partitions}"))
        elif have > layout.partitions:
            changes.append(
                TopicChange(name, "too-many-partitions", f"has {have}, layout {layout.partitions}")
            )
        drift = _config_drift(admin, name, layout.config)
        if drift:
            admin.alter_configs(
                [ConfigResource(ConfigResourceType.TOPIC, name, configs=layout.config)]
            )
            changes.append(TopicChange(name, "config", ", ".join(sorted(drift))))
        elif have == layout.partitions:
            changes.append(TopicChange(name, "unchanged"))
    return changes


def _config_drift(admin: KafkaAdminClient, topic: str, wanted: dict[str, str]) -> set[str]:
    described = admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs=None)], config_filter="all"
    )
    current = described.get("topic", {}).get(topic, {})
    return {key for key, value in wanted.items() if str(current.get(key, {}).get("value")) != value}


def ensure_changelogs(
    bootstrap_servers: str,
    changelogs: dict[str, tuple[int, dict[str, str]]],
    security: ClientSecurity | None = None,
) -> list[str]:
    """Create missing table changelog topics (compacted) before a worker starts.

    faust creates them itself, but on a fresh cluster its first rebalance can run on
    metadata that does not show them yet and crash the agent with a
    ``PartitionsMismatch``; created here and visible in the metadata, they cannot race.
    ``security`` is the service's principal (None: from the environment).
    """
    admin = KafkaAdminClient(
        bootstrap_servers=bootstrap_servers,
        client_id="returns-admin",
        **kafka_python_options(security),
    )
    try:
        existing = set(admin.list_topics())
        missing = {
            name: {
                "num_partitions": partitions,
                "replication_factor": replication_factor(),
                "configs": {"cleanup.policy": "compact", **config},
            }
            for name, (partitions, config) in changelogs.items()
            if name not in existing
        }
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
            admin.wait_for_topics(list(missing), timeout_ms=TOPICS_READY_TIMEOUT_MS)
        return sorted(missing)
    finally:
        admin.close()
