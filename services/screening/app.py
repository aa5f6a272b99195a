"""Screening's wiring: gather members per group, decide once, emit ``screened``."""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any, Never

import faust

from schemas.codec import EventValidationError
from schemas.envelope import Envelope
from schemas.person import PersonReturned
from services.keys import Erased, KeyStore, SealError, key_store, open_raw
from services.runtime.consume import NOTHING, Handled, InvalidEvent, consume
from services.runtime.context import Runtime
from services.runtime.faust_app import (
    contract_topic,
    create_app,
    is_ready,
    register_health,
    scratch_dir,
    send_event,
)
from services.runtime.ordered import ordered_acks, read_to_end
from services.screening.desk import ScreeningDesk
from services.screening.retention import Retention
from services.screening.ruleset import RuleSet, load_rule_set

log = logging.getLogger(__name__)
TICK_SECONDS = 5.0
KEY_REFRESH_SECONDS = 2.0  # how soon an erased key leaves this process's cache
TABLES = {
    "groups": "screening-groups",
    "open": "open-groups",
    "watermarks": "arrival-watermarks",
    "closed": "closed-groups",
    "retained": "retained-groups",
}


def build_app(runtime: Runtime, rule_set: RuleSet | None = None) -> faust.App:
    app = create_app("screening", runtime)
    partitions = runtime.topology.lane_partitions
    source = contract_topic(app, runtime, "person-returned")
    screened = contract_topic(app, runtime, "screened")
    clock = contract_topic(app, runtime, "screening-clock")
    tables = {
        name: app.Table(table, key_type=str, value_type=bytes, partitions=partitions)
        for name, table in TABLES.items()
    }

    async def emit(envelope: Envelope[Any]) -> None:
        await send_event(screened, "screened", runtime, envelope)

    settings = runtime.settings
    window = timedelta(minutes=settings.group_wait_minutes)
    grace = timedelta(seconds=settings.group_grace_seconds)
    rules = rule_set or load_rule_set("2021-12")
    keys = key_store(
        settings.bootstrap_servers,
        settings.topic_prefix,
        patient=True,
        cache_dir=scratch_dir(app, "person-keys"),
    )
    desk = ScreeningDesk(
        rules,
        window,
        tables,  # type: ignore[arg-type]
        emit,
        grace,
        open_member=lambda raw: open_raw(raw, keys),
        retention=Retention.from_env(os.environ),
        indexes_at=scratch_dir(app, "due"),
    )
    lock = asyncio.Lock()  # the member agent and the clock agent share the tables

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def rebuild_deadlines(sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        # The tables now hold other partitions' groups too: the index is rebuilt from
        # them, once they are recovered, on its next use.
        desk.deadlines.forget()
        desk.expiring.forget()

    members_read = ordered_acks(app)

    async def take_member(message: Any) -> Handled[Never]:
        # Opened off the event loop: a key not cached yet means reading the key topic.
        envelope = await asyncio.to_thread(_opened, message.value, keys)
        traceparent = dict(message.headers or []).get("traceparent")
        async with lock:
            await desk.take_member(
                envelope,
                message.value,
                message.partition,
                traceparent.decode() if traceparent else None,
            )
        return Handled(crossing=envelope.crossing, returned_at=envelope.data.returned_at)

    async def take_tick(message: Any) -> Handled[Never]:
        arrival_clock = datetime.fromisoformat(message.value.decode())
        async with lock:
            await desk.close_due(message.partition, arrival_clock)
        return NOTHING

    consume(
        app,
        runtime,
        source,
        take_member,
        service="screening",
        step="gather",
        name="screening-members",
        window=members_read,
    )
    consume(
        app,
        runtime,
        clock,
        take_tick,
        service="screening",
        step="close",
        name="screening-clock",
        unobserved=("screening-clock",),
    )

    @app.timer(interval=TICK_SECONDS)  # type: ignore[untyped-decorator]
    async def send_ticks() -> None:
        # A tick stands for "every member that arrived by now has been read": it is sent
        # only for partitions read to their end, so that a backlog (a restart, a burst)
        # never closes a group whose members are still waiting to be read.
        if not is_ready(app):
            return
        now = datetime.now(UTC).isoformat().encode()
        for tp in app.consumer.assignment():
            if tp.topic == source.get_topic_name() and read_to_end(app, members_read, tp):
                await clock.send(value=now, partition=tp.partition)

    @app.timer(interval=KEY_REFRESH_SECONDS)  # type: ignore[untyped-decorator]
    async def refresh_keys() -> None:
        # New keys, and erasures. A broker that is away must not stop the worker (a timer
        # that raises crashes faust's app): the next round catches up.
        try:
            await asyncio.to_thread(keys.refresh)
        except Exception as exc:
            log.warning("the key topic could not be read (%s): retrying", type(exc).__name__)

    register_health(app, runtime)
    return app


def _opened(raw: bytes, keys: KeyStore) -> Envelope[PersonReturned]:
    """The member in `raw`, opened with its case's key; `InvalidEvent` when it cannot be
    read, or its personal data was erased (nothing is left to screen)."""
    try:
        opened = open_raw(raw, keys)
    except EventValidationError:
        raise InvalidEvent("INVALID_EVENT") from None
    except SealError:
        raise InvalidEvent("UNREADABLE_SEAL") from None
    if isinstance(opened, Erased):
        raise InvalidEvent("ERASED")
    return opened
