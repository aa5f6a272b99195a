"""The screening desk: members in, one decision per group out, state in tables.

The tables are changelog-backed faust tables in the service, plain dicts in tests.
Only the agent that owns a partition calls the desk for that partition.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link

from schemas.envelope import Envelope, digest_of, event_id_for, make_envelope
from schemas.person import PersonReturned
from services.runtime import instrument, telemetry
from services.screening.grouping import DecidedGroup, PendingGroup, new_pending
from services.screening.rules import decide_group
from services.screening.ruleset import RuleSet

PRODUCER = "screening/0.1.0"
Emit = Callable[[Envelope[Any]], Awaitable[Any]]
Table = MutableMapping[str, bytes]


class ScreeningDesk:
    def __init__(
        self, rules: RuleSet, window: timedelta, tables: dict[str, Table], emit: Emit
    ) -> None:
        self.rules = rules
        self.window = window
        self.pending = tables["pending"]
        self.decided = tables["decided"]
        self.watermarks = tables["watermarks"]
        self.emit = emit
        self.tracer = telemetry.tracer("returns.screening")

    async def take_member(
        self,
        envelope: Envelope[PersonReturned],
        raw: bytes,
        partition: int,
        traceparent: str | None,
    ) -> None:
        """Add a member to its group; decide the group when it is complete or due."""
        member = envelope.data
        previous = self.decided.get(member.group_id)
        if previous is not None:
            await self._late_member(DecidedGroup.model_validate_json(previous), envelope)
            return
        current = self.pending.get(member.group_id)
        group = (
            PendingGroup.model_validate_json(current).with_member(
                envelope, raw, self.window, traceparent
            )
            if current is not None
            else new_pending(envelope, raw, partition, self.window, datetime.now(UTC), traceparent)
        )
        self.pending[member.group_id] = group.model_dump_json().encode()
        if group.is_complete():
            await self._close(group)
        await self.close_due(
            partition, self._advance_watermark(partition, member.returned_at), None
        )

    async def close_due(
        self, partition: int, watermark: datetime | None, wall_now: datetime | None
    ) -> None:
        """Decide every group of ``partition`` whose window has passed."""
        due = []
        for raw in list(self.pending.values()):
            group = PendingGroup.model_validate_json(raw)
            if group.partition == partition and group.is_due(watermark, wall_now, self.window):
                due.append(group)
        for group in sorted(due, key=lambda g: (g.deadline, g.group_id)):
            await self._close(group)

    async def _late_member(self, record: DecidedGroup, envelope: Envelope[PersonReturned]) -> None:
        if envelope.event_id in record.member_events:
            return  # a copy of a member already decided
        # A late member gets its own decision, pointing at the group's earlier one.
        await self._decide([envelope], {}, after=record.event_id)
        updated = record.model_copy(
            update={"member_events": [*record.member_events, envelope.event_id]}
        )
        self.decided[envelope.data.group_id] = updated.model_dump_json().encode()

    async def _close(self, group: PendingGroup) -> None:
        event_id, decision = await self._decide(group.envelopes(), group.traces, after=None)
        record = DecidedGroup(
            event_id=event_id, decision=decision, member_events=sorted(group.members)
        )
        self.decided[group.group_id] = record.model_dump_json().encode()
        del self.pending[group.group_id]

    async def _decide(
        self, members: list[Envelope[PersonReturned]], traces: dict[str, str], after: str | None
    ) -> tuple[str, str]:
        decision = decide_group([m.data for m in members], self.rules)
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
        parent, links = _trace_of(members, traces)
        with self.tracer.start_as_current_span("screening.decide", context=parent, links=links):
            instrument.decided("screening", decision.decision, envelope.crossing)
            trace.get_current_span().set_attribute("returns.members", len(decision.members))
            await self.emit(envelope)
        return envelope.event_id, decision.decision

    def _advance_watermark(self, partition: int, returned_at: datetime) -> datetime:
        key = f"p{partition}"
        seen = self.watermarks.get(key)
        mark = max(datetime.fromisoformat(seen.decode()), returned_at) if seen else returned_at
        self.watermarks[key] = mark.isoformat().encode()
        return mark


def _trace_of(
    members: list[Envelope[PersonReturned]], traces: dict[str, str]
) -> tuple[Any, list[Link]]:
    """Continue the first member's trace; link the other members' traces."""
    if not traces:
        return None, []
    ordered = sorted(members, key=lambda m: (m.data.returned_at, m.event_id))
    contexts = [
        telemetry.extract([("traceparent", traces[m.event_id].encode())])
        for m in ordered
        if m.event_id in traces
    ]
    links = [Link(trace.get_current_span(context).get_span_context()) for context in contexts[1:]]
    return contexts[0], links
