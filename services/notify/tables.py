"""Notify's tables, declared once: the faust tables and their changelog topics.

| table | key | written by | what (module) |
| --- | --- | --- | --- |
| `groups` | group id | notify-decisions | a group's decision, open requests (ledger.py) |
| `issued` | causing event id | notify-decisions | what an input caused, as sent (ledger.py) |
| `load` | partition/provider | notify-decisions | open requests per provider (ledger.py) |
| `requests` | request event id | notify-decisions | legal-aid requests' progress (tracker.py) |
| `capacity` | partition/provider | notify-decisions | providers' capacity (tracker.py) |
| `delivered` | partner event id | notify-receipts | who has had which event (receipts.py) |
| `issued_expiry` | as `issued` | notify-decisions | when an `issued` entry goes (memory.py) |
| `groups_expiry` | as `groups` | notify-decisions | when a settled group goes (memory.py) |
| `delivered_expiry` | as `delivered` | notify-receipts | when a receipt goes (receipts.py) |

Each changelog topic is created here (:func:`declare_changelogs`) under the name faust
itself gives it, before faust starts: faust would create it too, but subscribes at
once, and on a fast broker its metadata may not list the new topics yet; the
assignment then leaves their partitions out and every table write fails with
`PartitionsMismatch` until a restart.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass, fields
from typing import Any

import faust
from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

from services.runtime.context import Runtime
from services.runtime.identity import ServiceIdentity
from services.runtime.replication import replication_factor
from services.runtime.security import kafka_python_options

Table = MutableMapping[str, bytes]


@dataclass(frozen=True)
class NotifyTables:
    """Every table notify keeps (see the module docstring); faust tables in the service,
    dicts in tests."""

    groups: Table
    issued: Table
    load: Table
    requests: Table
    capacity: Table
    delivered: Table
    issued_expiry: Table
    groups_expiry: Table
    delivered_expiry: Table

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(field.name for field in fields(cls))

    @classmethod
    def in_memory(cls) -> NotifyTables:
        """Plain dicts (unit tests, benchmarks)."""
        return cls(**{name: {} for name in cls.names()})


def open_tables(
    app: faust.App, runtime: Runtime, identity: ServiceIdentity, *, declare: bool = True
) -> NotifyTables:
    """Notify's faust tables, their changelog topics created first unless not `declare`."""
    made: dict[str, Any] = {
        name: app.Table(
            name, key_type=str, value_type=bytes, partitions=runtime.topology.lane_partitions
        )
        for name in NotifyTables.names()
    }
    if declare:
        changelogs = (table.changelog_topic_name for table in made.values())
        declare_changelogs(runtime, identity, changelogs)
    return NotifyTables(**made)


async def flush_changelogs(app: faust.App) -> None:
    """Wait until every table write so far is acknowledged by the broker."""
    producer = app.producer
    while producer.buffer.size:  # its flush gives up after 0.1 s without progress
        await producer.buffer.flush()
    await producer.flush()


def declare_changelogs(
    runtime: Runtime, identity: ServiceIdentity, changelogs: Iterable[str]
) -> None:
    """Create the compacted topics `changelogs` (as faust would) and wait until the
    broker lists them."""
    wanted = set(changelogs)
    spec = {
        "num_partitions": runtime.topology.lane_partitions,
        "replication_factor": replication_factor(),
    }
    admin = KafkaAdminClient(
        bootstrap_servers=runtime.settings.bootstrap_servers,
        client_id=identity.client_id,
        **kafka_python_options(runtime.settings.security),
    )
    try:
        missing = wanted - set(admin.list_topics())
        if missing:
            topics = {name: {**spec, "configs": {"cleanup.policy": "compact"}} for name in missing}
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was first
                admin.create_topics(topics)
            # Leaders for every partition; kafka-python's own wait (10 s) can be too
            # short for a replicated topic on a busy cluster.
            admin.wait_for_topics(list(missing), timeout_ms=60_000)
        deadline = time.monotonic() + 30
        while not wanted <= set(admin.list_topics()) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        admin.close()
