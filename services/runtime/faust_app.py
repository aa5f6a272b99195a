"""The one faust set-up every service uses.

What it pins, and why (see docs/adr/0003-faust-at-least-once.md):
- at-least-once, never faust's exactly-once (open bugs); consumers are idempotent;
- raw bytes in and out, so pydantic alone decides the bytes on the wire (faust would
  otherwise switch to orjson by itself and change them);
- internal topics (table changelogs) get as many partitions as the lanes topics,
  so that no ``PartitionsMismatch`` can occur;
- no leader topic, no auto-created contract topics: ``make topics`` owns them;
- an exception that escapes an agent ends the worker (docs/adr/0036): faust's default
  restarts the agent in the process without the record it held, and its partition could
  be left unread; a worker that exits is started again by its supervisor (Kubernetes,
  ``make run``'s keeper) and reads again from its last committed offset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import faust
import mode
from faust.web import Request, Response, View

from schemas.codec import encode
from schemas.envelope import Envelope
from services.runtime import instrument, metrics, telemetry
from services.runtime.context import Runtime
from services.runtime.faust_internals import ConsumerView, require_internals
from services.runtime.identity import ServiceIdentity
from services.runtime.logs import logging_config
from services.runtime.replication import replication_factor
from services.runtime.security import faust_options
from services.runtime.stores import store_url


def identity(service: str, runtime: Runtime) -> ServiceIdentity:
    """``service``'s names under the runtime's topic prefix."""
    return ServiceIdentity(service, runtime.settings.topic_prefix)


def create_app(service: str, runtime: Runtime, **overrides: Any) -> faust.App:
    """A faust app for ``service``; its id is the consumer group and changelog prefix."""
    settings = runtime.settings
    names = identity(service, runtime)
    app_id = names.app_id
    options: dict[str, Any] = {
        "broker": [f"kafka://{server}" for server in settings.bootstrap_servers.split(",")],
        "store": store_url(),
        "topic_partitions": runtime.topology.lane_partitions,
        "topic_replication_factor": replication_factor(),
        "topic_disable_leader": True,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "processing_guarantee": "at_least_once",
        "consumer_auto_offset_reset": "earliest",
        "web_enabled": True,
        "web_bind": settings.web_host,
        "web_port": settings.port_for(service),
        "web_host": settings.web_host,
        "datadir": str(settings.state_dir / names.datadir(settings.worker_name)),
        "broker_commit_interval": 1.0,
        "producer_acks": -1,
        "stream_wait_empty": True,
        "agent_supervisor": mode.CrashingSupervisor,
        "worker_redirect_stdouts": False,
        "logging_config": logging_config(service, settings.log_level),
        **faust_options(settings.security),
    }
    options.update(overrides)
    Path(options["datadir"]).mkdir(parents=True, exist_ok=True)
    app = faust.App(app_id, **options)

    @app.task  # type: ignore[untyped-decorator]
    async def check_faust_internals() -> None:
        # The offset guard reads faust's internals: an upgrade that renamed one stops here.
        require_internals(app.consumer)

    return app


def contract_topic(app: faust.App, runtime: Runtime, name: str) -> faust.TopicT:
    """A topic of infra/topics.toml by logical name; ``make topics`` creates it, not faust."""
    return app.topic(
        runtime.settings.topic(name),
        key_type=bytes,
        value_type=bytes,
        partitions=runtime.topology.topics[name].partitions,
        internal=False,
    )


async def send_event(
    topic: faust.TopicT, name: str, runtime: Runtime, envelope: Envelope[Any]
) -> Any:
    """Send ``envelope`` to contract topic ``name`` through the crossing partitioner."""
    route = runtime.router.route_event(name, envelope)
    instrument.produced(envelope.producer.split("/")[0], name, envelope.crossing)
    return await topic.send(
        key=route.key,
        value=encode(envelope),
        partition=route.partition,
        headers=telemetry.inject(),
    )


def scratch_dir(app: faust.App, name: str) -> Path | None:
    """Where the worker keeps the cache `name` on disk, in its datadir (a ScratchMapping,
    services/runtime/stores.py); None when its tables are in memory (``RETURNS_STORE=
    memory``), where the cache is too."""
    if app.conf.store.scheme == "memory":
        return None
    return Path(app.conf.datadir) / name


def producer_name(service: str) -> str:
    """``service``'s envelope producer (:attr:`ServiceIdentity.producer`)."""
    return ServiceIdentity(service).producer


def is_ready(app: faust.App) -> bool:
    """Connected to the broker, partitions assigned and tables recovered."""
    if not app.producer.started or app.rebalancing:
        return False
    recovery = cast(Any, app.tables).recovery
    return bool(recovery.completed.is_set())


def register_health(app: faust.App, runtime: Runtime | None = None) -> None:
    """``/healthz`` (the process answers), ``/readyz`` (:func:`is_ready`), ``/metrics``."""

    @app.page("/healthz")
    async def healthz(self: View, request: Request) -> Response:
        return self.json({"status": "ok"})

    @app.page("/readyz")
    async def readyz(self: View, request: Request) -> Response:
        ready = is_ready(app)
        return self.json({"ready": ready}, status=200 if ready else 503)

    @app.page("/metrics")
    async def prometheus(self: View, request: Request) -> Response:
        if runtime is not None:
            _update_lag(app, runtime)
        return self.bytes(metrics.render(), content_type="text/plain; version=0.0.4")


def _update_lag(app: faust.App, runtime: Runtime) -> None:
    """Per owned partition: the broker's high-water mark minus the next offset to read.

    The label sets of partitions this worker no longer owns are removed: after a
    rebalance only a partition's new owner reports it, and a revoked partition's last
    value cannot linger as a lag that nobody works off.
    """
    consumer = cast(Any, app.consumer)
    view = ConsumerView(consumer)
    service = ServiceIdentity.of_app_id(app.conf.id, runtime.settings.topic_prefix).service
    owned: set[tuple[str, str]] = set()
    for tp in consumer.assignment():
        topic = tp.topic.removeprefix(runtime.settings.topic_prefix)
        if topic not in runtime.topology.topics:
            continue
        owned.add((topic, str(tp.partition)))
        highwater = _highwater(consumer, tp)
        if highwater is None:
            continue
        read = view.read_up_to(tp)
        behind = highwater - (read + 1 if read is not None else 0)
        lane = runtime.topology.lane_of_partition(tp.partition) or "none"
        metrics.CONSUMER_LAG.labels(service, topic, str(tp.partition), lane).set(max(behind, 0))
    _forget_lag_not_owned(service, owned)


def _forget_lag_not_owned(service: str, owned: set[tuple[str, str]]) -> None:
    for family in metrics.CONSUMER_LAG.collect():
        for sample in family.samples:
            labels = sample.labels
            if labels["service"] == service and (labels["topic"], labels["partition"]) not in owned:
                metrics.CONSUMER_LAG.remove(
                    service, labels["topic"], labels["partition"], labels["lane"]
                )


def _highwater(consumer: Any, tp: Any) -> int | None:
    try:
        return int(consumer.highwater(tp))
    except (AssertionError, KeyError, TypeError):  # nothing fetched yet for this partition
        return None
