"""The faust plumbing notify needs beyond the shared runtime.

- :func:`send_raw`: send stored event bytes unchanged, routed as every event is;
- :func:`flush_changelogs`: wait until table writes are on the broker;
- :func:`declare_changelogs`: create the tables' changelog topics before faust starts.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterable
from typing import Any

import faust
from kafka import KafkaAdminClient
from kafka.errors import TopicAlreadyExistsError

from services.runtime import instrument, telemetry
from services.runtime.context import Runtime
from services.runtime.replication import replication_factor
from services.runtime.security import kafka_python_options

log = logging.getLogger(__name__)


def contract_topics(app: faust.App, runtime: Runtime, *names: str) -> faust.TopicT:
    """One faust topic over several contract topics of the same layout (one agent)."""
    return app.topic(
        *(runtime.settings.topic(name) for name in names),
        key_type=bytes,
        value_type=bytes,
        partitions=runtime.topology.lane_partitions,
        internal=False,
    )


async def send_raw(
    topic: faust.TopicT, name: str, runtime: Runtime, value: bytes, trace: str | None
) -> Any:
    """Send stored event bytes as they are, routed as `send_event` routes an envelope,
    continuing the trace `trace` (the traceparent of the span that decided them: the
    sending task runs for many events, so its own context belongs to none of them)."""
    document = json.loads(value)
    crossing = document["crossing"]
    route = runtime.router.route(
        name, document["correlation_id"], crossing, document["data"].get("location")
    )
    instrument.produced("notify", name, crossing)
    return await topic.send(
        key=route.key,
        value=value,
        partition=route.partition,
        headers=telemetry.continuing(trace),
    )


async def flush_changelogs(app: faust.App) -> None:
    """Wait until every table write so far is acknowledged by the broker."""
    producer = app.producer
    while producer.buffer.size:  # its flush gives up after 0.1 s without progress
        await producer.buffer.flush()
    await producer.flush()


def declare_changelogs(app: faust.App, runtime: Runtime, tables: Iterable[str]) -> None:
    """Create the changelog topics of `tables` (as faust would) and wait until the broker
    lists them.

    faust creates them itself on start, but then subscribes at once: on a fast broker
    its metadata may not list the new topics yet, the assignment leaves their partitions
    out, and every table write fails with `PartitionsMismatch` until a restart.
    """
    partitions = runtime.topology.lane_partitions
    wanted = {f"{app.conf.id}-{table}-changelog" for table in tables}
    spec = {"num_partitions": partitions, "replication_factor": replication_factor()}
    admin = KafkaAdminClient(
        bootstrap_servers=runtime.settings.bootstrap_servers,
        client_id="returns-notify",
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
