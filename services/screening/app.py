"""Screening's wiring: gather members per group, decide once, emit ``screened``."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

import faust

from schemas.codec import EventValidationError, decode
from schemas.envelope import Envelope, digest_of, event_id_for, make_envelope
from schemas.person import PersonReturned
from services.runtime import telemetry
from services.runtime.context import Runtime
from services.runtime.faust_app import (
    contract_topic,
    create_app,
    is_ready,
    producer_name,
    register_health,
    send_event,
)
from services.screening.grouping import DecidedGroup, PendingGroup, new_pending
from services.screening.rules import decide_group
from services.screening.ruleset import RuleSet, load_rule_set

log = logging.getLogger(__name__)
PRODUCER = producer_name("screening")
TICK_SECONDS = 5.0


def build_app(runtime: Runtime, rule_set: RuleSet | None = None) -> faust.App:
    app = create_app("screening", runtime)
    rules = rule_set or load_rule_set("2021-12")
    window = timedelta(minutes=runtime.settings.group_wait_minutes)
    partitions = runtime.topology.lane_partitions
    source = contract_topic(app, runtime, "person-returned")
    screened = contract_topic(app, runtime, "screened")
    clock = contract_topic(app, runtime, "screening-clock")
    pending = app.Table("pending-groups", key_type=str, value_type=bytes, partitions=partitions)
    decided = app.Table("decided-groups", key_type=str, value_type=bytes, partitions=partitions)
    watermarks = app.Table("watermarks", key_type=str, value_type=bytes, partitions=partitions)
    lock = asyncio.Lock()  # the member agent and the clock agent share the tables
    tracer = telemetry.tracer("returns.screening")

    async def emit_decision(
        members: list[Envelope[PersonReturned]], after: str | None
    ) -> tuple[str, str]:
        decision = decide_group([m.data for m in members], rules)
        if after is not None:
            decision = decision.model_copy(update={"decided_after": after})
        causes = digest_of([m.event_id for m in members])
        envelope = make_envelope(
            decision,
            event_id=event_id_for("screened", causes),
            producer=PRODUCER,
            correlation_id=decision.group_id,
            causation_id=causes,
            crossing=members[0].data.crossing,
        )
        with tracer.start_as_current_span("screening.decide") as span:
            span.set_attributes(
                {
                    "returns.crossing": envelope.crossing or "",
                    "returns.decision": decision.decision,
                    "returns.members": len(decision.members),
                }
            )
            await send_event(screened, "screened", runtime, envelope)
        return envelope.event_id, decision.decision

    async def close(group: PendingGroup) -> None:
        members = group.envelopes()
        event_id, decision = await emit_decision(members, after=None)
        record = DecidedGroup(
            event_id=event_id, decision=decision, member_events=sorted(group.members)
        )
        decided[group.group_id] = record.model_dump_json().encode()
        del pending[group.group_id]

    async def close_due(
        partition: int, watermark: datetime | None, wall_now: datetime | None
    ) -> None:
        due = []
        for raw in list(pending.values()):
            group = PendingGroup.model_validate_json(raw)
            if group.partition == partition and group.is_due(watermark, wall_now, window):
                due.append(group)
        for group in sorted(due, key=lambda g: (g.deadline, g.group_id)):
            await close(group)

    async def take_member(envelope: Envelope[PersonReturned], raw: bytes, partition: int) -> None:
        member = envelope.data
        previous = decided.get(member.group_id)
        if previous is not None:
            record = DecidedGroup.model_validate_json(previous)
            if envelope.event_id not in record.member_events:
                # A late member gets its own decision, pointing at the group's earlier one.
                await emit_decision([envelope], after=record.event_id)
                updated = record.model_copy(
                    update={"member_events": [*record.member_events, envelope.event_id]}
                )
                decided[member.group_id] = updated.model_dump_json().encode()
            return
        current = pending.get(member.group_id)
        now = datetime.now(UTC)
        group = (
            PendingGroup.model_validate_json(current).with_member(envelope, raw, window)
            if current is not None
            else new_pending(envelope, raw, partition, window, now)
        )
        if group.is_complete():
            pending[member.group_id] = group.model_dump_json().encode()
            await close(group)
        else:
            pending[member.group_id] = group.model_dump_json().encode()
        mark_key = f"p{partition}"
        seen = watermarks.get(mark_key)
        mark = (
            max(datetime.fromisoformat(seen.decode()), member.returned_at)
            if seen
            else member.returned_at
        )
        watermarks[mark_key] = mark.isoformat().encode()
        await close_due(partition, mark, None)

    @app.agent(source, name="screening-members")
    async def screen_members(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            message = event.message
            try:
                envelope = decode(message.value, PersonReturned)
            except EventValidationError as exc:
                log.error(
                    "skipping an invalid person-returned event at %s[%d]@%d: %d problem(s)",
                    message.topic,
                    message.partition,
                    message.offset,
                    len(exc.errors),
                )
                continue
            with tracer.start_as_current_span(
                "screening.gather", context=telemetry.extract(message.headers)
            ) as span:
                span.set_attributes(
                    {
                        "returns.crossing": envelope.data.crossing,
                        "messaging.partition": message.partition,
                        "messaging.offset": message.offset,
                    }
                )
                async with lock:
                    await take_member(envelope, message.value, message.partition)

    @app.agent(clock, name="screening-clock")
    async def tick(stream: faust.StreamT[bytes]) -> None:
        async for event in stream.events():
            wall_now = datetime.fromisoformat(event.message.value.decode())
            async with lock:
                await close_due(event.message.partition, None, wall_now)

    @app.timer(interval=TICK_SECONDS)  # type: ignore[untyped-decorator]
    async def send_ticks() -> None:
        if not is_ready(app):
            return
        now = datetime.now(UTC).isoformat().encode()
        for tp in app.consumer.assignment():
            if tp.topic == clock.get_topic_name():
                await clock.send(value=now, partition=tp.partition)

    register_health(app)
    return app
