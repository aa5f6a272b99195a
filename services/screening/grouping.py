"""Gathering a group's members until it is complete or its wait window has passed.

Pure bookkeeping on plain values; the agent keeps them in changelog-backed tables.

When is a group due?
- complete: as many distinct members (case ids) as its ``group_size``;
- by event time: the partition's watermark (the latest ``returned_at`` seen on it)
  has passed the earliest member's ``returned_at`` plus the window; a replay of the
  same log therefore closes the same groups at the same point;
- by processing time, for a stalled stream: the window has passed on the wall clock
  since the first member arrived. A periodic tick per partition checks this.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from schemas.codec import decode
from schemas.envelope import Envelope
from schemas.person import PersonReturned


class PendingGroup(BaseModel):
    """A group still waiting for members; stored as JSON in the ``pending`` table."""

    model_config = ConfigDict(frozen=True)

    group_id: str
    partition: int
    crossing: str
    group_size: int
    deadline: datetime  # event time: earliest returned_at + window
    first_seen: datetime  # wall clock, for stalled streams
    members: dict[str, str]  # event_id -> the person-returned envelope (JSON)
    case_ids: list[str]  # distinct, so completeness needs no decoding
    traces: dict[str, str] = {}  # event_id -> the member's traceparent, to continue its trace

    def with_member(
        self,
        envelope: Envelope[PersonReturned],
        raw: bytes,
        window: timedelta,
        traceparent: str | None = None,
    ) -> PendingGroup:
        if envelope.event_id in self.members:
            return self
        member = envelope.data
        case_ids = sorted({*self.case_ids, member.case_id})
        return self.model_copy(
            update={
                "members": {**self.members, envelope.event_id: raw.decode()},
                "case_ids": case_ids,
                "traces": _with_trace(self.traces, envelope.event_id, traceparent),
                "group_size": max(self.group_size, member.group_size),
                "deadline": min(self.deadline, member.returned_at + window),
            }
        )

    def envelopes(self) -> list[Envelope[PersonReturned]]:
        return [decode(raw.encode(), PersonReturned) for raw in self.members.values()]

    def is_complete(self) -> bool:
        return len(self.case_ids) >= self.group_size

    def is_due(
        self, watermark: datetime | None, wall_now: datetime | None, window: timedelta
    ) -> bool:
        if watermark is not None and watermark >= self.deadline:
            return True
        return wall_now is not None and wall_now >= self.first_seen + window


def _with_trace(traces: dict[str, str], event_id: str, traceparent: str | None) -> dict[str, str]:
    return {**traces, event_id: traceparent} if traceparent else traces


def new_pending(
    envelope: Envelope[PersonReturned],
    raw: bytes,
    partition: int,
    window: timedelta,
    wall_now: datetime,
    traceparent: str | None = None,
) -> PendingGroup:
    member = envelope.data
    return PendingGroup(
        group_id=member.group_id,
        partition=partition,
        crossing=member.crossing,
        group_size=member.group_size,
        deadline=member.returned_at + window,
        first_seen=wall_now,
        members={envelope.event_id: raw.decode()},
        case_ids=[member.case_id],
        traces=_with_trace({}, envelope.event_id, traceparent),
    )


class DecidedGroup(BaseModel):
    """What is kept of a decided group: enough to recognise late or repeated members."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    decision: str
    member_events: list[str]
