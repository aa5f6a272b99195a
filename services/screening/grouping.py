"""Gathering a group's members on arrival time, and which record of each member counts.

Pure bookkeeping on plain values; the desk keeps them in changelog-backed tables.

A member's arrival time is its ``person-returned`` event's ``occurred_at``: when intake
accepted it. ``returned_at`` says when the US returned the person, which is often hours
before the record reaches us, so it plays no part in gathering (docs/CONTRACT.md,
"Arrival time"; docs/adr/0012-arrival-time-and-supersession.md).

When is a group's first decision taken?
- complete: as many distinct members (case ids) as its largest ``group_size``;
- its window ran out: ``window`` after its first member's arrival, plus ``grace`` for the
  skew between intake workers' clocks, the partition's arrival watermark (the latest
  arrival read on it) or a clock tick for a stalled stream has passed. Both are in the
  log, so a replay closes the same groups at the same points.

After that, every new member or corrected record re-decides the whole group.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from schemas.decisions import GatherWindow, Screened
from schemas.envelope import Envelope, digest_of, event_id_for, make_envelope
from schemas.person import PersonReturned, person_returned_event_id
from services.screening.rules import decide_group
from services.screening.ruleset import RuleSet


class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MemberRecord(_Stored):
    """One ``person-returned`` event of the group, as taken."""

    event_id: str
    case_id: str
    group_size: int
    arrived_at: datetime
    corrects: str | None  # the event id of the record this one replaces
    raw: str  # the envelope as read: personal data sealed, opened only to decide
    trace: str | None = None  # its traceparent, to continue its trace


class DecisionTaken(_Stored):
    """The group's live decision: its event, and the members it was taken on."""

    event_id: str
    decision: str
    revision: int
    window: GatherWindow
    member_events: tuple[str, ...]


class GroupFile(_Stored):
    """Everything screening keeps of one group, stored as JSON in the ``groups`` table."""

    group_id: str
    partition: int
    crossing: str
    opened_at: datetime  # the first member's arrival
    records: tuple[MemberRecord, ...]  # every distinct record taken, in arrival order
    decided: DecisionTaken | None = None

    def knows(self, event_id: str) -> bool:
        return any(record.event_id == event_id for record in self.records)

    def with_record(self, record: MemberRecord) -> GroupFile:
        opened = min(self.opened_at, record.arrived_at)
        return self.model_copy(update={"records": (*self.records, record), "opened_at": opened})

    def current(self) -> list[MemberRecord]:
        return counting_records(
            self.records, lambda r: (r.event_id, r.case_id, r.arrived_at, r.corrects)
        )

    def is_complete(self) -> bool:
        current = self.current()
        return len(current) >= max((record.group_size for record in current), default=1)

    def due_at(self, window: timedelta) -> datetime:
        return self.opened_at + window

    def changed_since_decision(self) -> bool:
        if self.decided is None:
            return True
        return tuple(record.event_id for record in self.current()) != self.decided.member_events


R = TypeVar("R")
RecordFacts = Callable[[R], tuple[str, str, datetime, str | None]]
"""A record's event id, case id, arrival time, and the event id of the record it corrects."""


def counting_records(records: Iterable[R], facts: RecordFacts[R]) -> list[R]:
    """Each member's record that counts, by case id: not replaced by a correction, and
    the first to arrive (ties by event id). Screening decides on these; the audit checks
    its decisions against the same rule."""
    described = [(facts(record), record) for record in records]
    corrected = {replaced for (_, _, _, replaced), _ in described if replaced}
    kept: dict[str, R] = {}
    for (event_id, case_id, _, _), record in sorted(described, key=lambda d: (d[0][2], d[0][0])):
        if event_id not in corrected:
            kept.setdefault(case_id, record)
    return [kept[case_id] for case_id in sorted(kept)]


def member_record(
    envelope: Envelope[PersonReturned], raw: bytes, traceparent: str | None
) -> MemberRecord:
    member = envelope.data
    corrects = person_returned_event_id(member.source, member.corrects) if member.corrects else None
    return MemberRecord(
        event_id=envelope.event_id,
        case_id=member.case_id,
        group_size=member.group_size,
        arrived_at=envelope.occurred_at,
        corrects=corrects,
        raw=raw.decode(),
        trace=traceparent,
    )


def new_group(record: MemberRecord, partition: int, crossing: str, group_id: str) -> GroupFile:
    return GroupFile(
        group_id=group_id,
        partition=partition,
        crossing=crossing,
        opened_at=record.arrived_at,
        records=(record,),
    )


def window_of(
    group: GroupFile, window: timedelta, closed_at: datetime, complete: bool
) -> GatherWindow:
    return gather_window(group.opened_at, window, closed_at, complete)


def gather_window(
    opened_at: datetime, window: timedelta, closed_at: datetime, complete: bool
) -> GatherWindow:
    """The window a group's first decision records: it closed `complete`, or ran out."""
    return GatherWindow(
        opened_at=opened_at,
        minutes=window.total_seconds() / 60,
        closed_at=closed_at,
        closed_by="complete" if complete else "window",
    )


def chained_decision(
    members: Sequence[Envelope[PersonReturned]],
    rules: RuleSet,
    window: GatherWindow,
    previous: DecisionTaken | None,
    *,
    producer: str,
    crossing: str,
    occurred_at: datetime | None = None,
) -> tuple[Envelope[Screened], DecisionTaken]:
    """The group's decision on its current readable records, as screening writes it.

    `decide_group` decides; the decision supersedes `previous` (the group's live one,
    None for the first) with the next revision and keeps the group's first window. Its
    event id is derived from the member events, so the same records give the same event
    however often they are decided (a replay, or the audit's synthetic histories).
    """
    revision = previous.revision + 1 if previous else 1
    decision = decide_group([member.data for member in members], rules).model_copy(
        update={
            "supersedes": previous.event_id if previous else None,
            "revision": revision,
            "window": window,
        }
    )
    member_events = tuple(member.event_id for member in members)
    causes = digest_of(list(member_events))
    envelope = make_envelope(
        decision,
        event_id=event_id_for("screened", causes),
        producer=producer,
        correlation_id=decision.group_id,
        causation_id=causes,
        crossing=crossing,
        occurred_at=occurred_at,
    )
    taken = DecisionTaken(
        event_id=envelope.event_id,
        decision=decision.decision,
        revision=revision,
        window=window,
        member_events=member_events,
    )
    return envelope, taken
