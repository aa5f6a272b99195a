"""Placement's wiring: inputs -> ``placement-commands`` -> one writer per unit; the ops view.

Two kinds of agents (docs/adr/0005-placement-single-writer.md):
- the input agents read ``screened``, ``location-status-changed``, ``capacity-updated``
  and ``shelter-departed`` on the crossings' lanes, validate each event and forward it
  as a command to the fixed partition of the unit that owns its location;
- the writer agent reads ``placement-commands``; the consumer of a unit's partition is
  the only writer of that unit's state, so no lock and no other agent touch the table.
A timer sends `CheckLocalDay` ticks to the owned unit partitions that have a queue;
another sets the queue and location gauges of the owned units, off the command path.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any, Never

import faust

from services.placement.commands import CheckLocalDay, Command, encode_command
from services.placement.handlers import Emission
from services.placement.inputs import INPUT_TOPICS, InputTranslator
from services.placement.metrics import PlacementCounters, Rejection, export_location_figures
from services.placement.retention import Retention
from services.placement.routing import PlacementUnits, placement_units
from services.placement.store import UnitStore
from services.placement.web import OpsView, RecordRead, register_ops_routes
from services.placement.writer import CommandWriter
from services.runtime import metrics, telemetry
from services.runtime.access_log import access_event, group_ids_in, http_principal
from services.runtime.consume import NOTHING, Handled, InvalidEvent, consume
from services.runtime.context import Runtime
from services.runtime.faust_app import (
    contract_topic,
    create_app,
    is_ready,
    producer_name,
    register_health,
    send_event,
)
from services.runtime.instrument import decided

log = logging.getLogger(__name__)
PRODUCER = producer_name("placement")
TICK_SECONDS = 5.0
GAUGE_SECONDS = 1.0
# A crashed writer's units move to another worker once its session expires: keep that
# short, since each unit has one writer and waits for it (faust's default is 60 s).
SESSION_TIMEOUT_S = 10.0
STATE_TABLE = "placement-state"
# Opt-in, for measuring only: faust-streaming 0.15.3 does not hold exactly-once here (ADR 25).
EXACTLY_ONCE_ENV = "RETURNS_EXACTLY_ONCE"
# The unit state is one value rewritten by every command: roll changelog segments often
# so that compaction keeps what a recovering worker reads close to one value per key.
CHANGELOG_CONFIG = {"segment.ms": str(6 * 3600 * 1000)}


def build_app(runtime: Runtime) -> faust.App:
    app = create_app("placement", runtime, broker_session_timeout=SESSION_TIMEOUT_S, **_guarantee())
    units = placement_units(runtime.reference, runtime.topology)
    counters = PlacementCounters()
    commands = contract_topic(app, runtime, "placement-commands")
    table = app.Table(
        STATE_TABLE,
        key_type=str,
        value_type=bytes,
        partitions=runtime.topology.lane_partitions,
        extra_topic_configs=CHANGELOG_CONFIG,
    )
    store = UnitStore(table, runtime.reference, units, Retention.from_env(os.environ))

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def rebuild_queues(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        # Other units' records may be here now: each unit's queues are built again from
        # the recovered table on its next use (docs/adr/0029).
        store.forget()

    translator = InputTranslator(runtime.reference, units)
    for name in INPUT_TOPICS:
        _input_agent(app, runtime, name, translator, commands, counters)
    _writer_agent(app, runtime, commands, _writer(app, runtime, store, units, counters))
    _tick_timer(app, commands, units, store)
    _gauge_timer(app, commands, units, store)
    ops = OpsView(
        app,
        store,
        units,
        commands.get_topic_name(),
        table.changelog_topic.get_topic_name(),
        lambda: is_ready(app),
    )
    register_ops_routes(app, ops, counters, _read_recorder(app, runtime))
    register_health(app, runtime)
    return app


def _guarantee() -> dict[str, str]:
    """faust's exactly-once mode, only when asked: it stalls placement (docs/adr/0025)."""
    if os.environ.get(EXACTLY_ONCE_ENV, "").strip() == "1":
        log.warning(
            "%s=1: faust's exactly-once mode, for measuring only (ADR 25)", EXACTLY_ONCE_ENV
        )
        return {"processing_guarantee": "exactly_once"}
    return {}


def _read_recorder(app: faust.App, runtime: Runtime) -> RecordRead:
    """Who read which location's groups, on ``access-logged``, acknowledged first."""
    topic = contract_topic(app, runtime, "access-logged")

    async def record(request: Any, view: str, subject: str, body: dict[str, Any]) -> None:
        envelope = access_event(
            principal=http_principal(request.headers, getattr(request, "remote", None)),
            reader="placement",
            view=view,
            subject="location",
            subject_id=subject,
            group_ids=group_ids_in(body),
        )
        sent = await send_event(topic, "access-logged", runtime, envelope)
        await sent

    return record


def _writer(
    app: faust.App,
    runtime: Runtime,
    store: UnitStore,
    units: PlacementUnits,
    counters: PlacementCounters,
) -> CommandWriter:
    outputs = {
        name: contract_topic(app, runtime, name)
        for name in ("placed", "placement-deferred", "placement-withdrawn")
    }

    async def emit(emission: Emission) -> None:
        sent = await send_event(outputs[emission.topic], emission.topic, runtime, emission.envelope)
        await sent  # acknowledged before the state that records it is written

    async def flush() -> None:
        await app.producer.flush()

    return CommandWriter(store, units, counters, emit, flush, PRODUCER)


def _input_agent(
    app: faust.App,
    runtime: Runtime,
    name: str,
    translator: InputTranslator,
    commands: faust.TopicT,
    counters: PlacementCounters,
) -> None:
    source = contract_topic(app, runtime, name)

    async def route(message: Any) -> Handled[Command]:
        outcome = translator.command_for(name, message.value, datetime.now(UTC))
        if isinstance(outcome, Rejection):
            counters.record(outcome)  # for the ops view; logged and counted by the loop
            raise InvalidEvent(outcome.reason)
        if outcome is None:
            return NOTHING
        return Handled(location=outcome.unit, outgoing=[outcome])

    async def forward(outgoing: Sequence[Command]) -> Sequence[Awaitable[object]]:
        for command in outgoing:
            await commands.send(
                key=command.unit.encode(),
                value=encode_command(command),
                partition=translator.units.partition_of(command.unit),
                headers=telemetry.inject(),
            )
        return ()  # the input is acked once its command is handed to the producer

    consume(
        app,
        runtime,
        source,
        route,
        send=forward,
        service="placement",
        step="route",
        name=f"placement-input-{name}",
    )


def _writer_agent(
    app: faust.App, runtime: Runtime, commands: faust.TopicT, writer: CommandWriter
) -> None:
    async def place(message: Any) -> Handled[Never]:
        # The writer sends its events, acknowledged, before it writes the state that
        # records them (writer.py): nothing is left for the loop to send.
        outcome = await writer.handle(message.value, message.partition, message.offset)
        crossing = location = None
        for emission in outcome.emissions if outcome is not None else ():
            data = emission.envelope.data
            kind = data.reason if emission.topic == "placement-deferred" else emission.topic
            decided("placement", kind, emission.envelope.crossing)
            crossing, location = emission.envelope.crossing, data.location
        return Handled(crossing=crossing, location=location)

    consume(
        app,
        runtime,
        commands,
        place,
        service="placement",
        step="place",
        name="placement-writer",
    )


def _gauge_timer(
    app: faust.App, commands: faust.TopicT, units: PlacementUnits, store: UnitStore
) -> None:
    """The gauges of every owned unit, each second: a command's path sets none of them,
    since walking every unit of a partition costs more than the command itself."""

    @app.timer(interval=GAUGE_SECONDS)  # type: ignore[untyped-decorator]
    async def export_gauges() -> None:
        if not is_ready(app):
            return  # the table is still being recovered: nothing to read yet
        for partition in owned_command_partitions(app, commands):
            _export_queues(store, units, partition)
            await asyncio.sleep(0)  # queues built here first: let commands and probes in


def owned_command_partitions(app: faust.App, commands: faust.TopicT) -> list[int]:
    """The partitions of ``placement-commands`` this worker is assigned, in order."""
    name = commands.get_topic_name()
    return sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == name)


def _export_queues(
    store: UnitStore, units: PlacementUnits, partition: int, now: datetime | None = None
) -> None:
    """Queue length and oldest wait per location of the units on `partition`, as gauges;
    a location whose queue is empty reads 0."""
    now = now or datetime.now(UTC)
    for unit in units.units_on(partition):
        view = store.view(unit)
        export_location_figures(view.state, now)
        for location in sorted({*units.locations_of(unit), *view.queues.locations}):
            queue = view.queues.queue(location)
            metrics.QUEUE_LENGTH.labels(location).set(len(queue))
            head = queue.head  # the longest waiting: the queue is in arrival order
            oldest = None if head is None else head.waits.deferred_since
            wait = (now - oldest).total_seconds() if oldest is not None else 0.0
            metrics.QUEUE_OLDEST.labels(location).set(max(wait, 0.0))


def _tick_timer(
    app: faust.App, commands: faust.TopicT, units: PlacementUnits, store: UnitStore
) -> None:
    @app.timer(interval=TICK_SECONDS)  # type: ignore[untyped-decorator]
    async def send_ticks() -> None:
        if not is_ready(app):
            return
        now = datetime.now(UTC)
        for partition in owned_command_partitions(app, commands):
            for unit in units.units_on(partition):
                # A unit with nobody waiting and no record to forget has nothing to do.
                if store.load(unit).waiting or store.expiry_due(unit, now):
                    tick = CheckLocalDay(unit=unit, issued_at=now)
                    await commands.send(
                        key=unit.encode(), value=encode_command(tick), partition=partition
                    )
                await asyncio.sleep(0)  # a unit's queues may have been built: let others in
