"""`returns audit case ID`: one case or group across every topic, with its causation links.

Given a case id, the events that name it are picked out (its `person-returned`, the
decisions listing it, its care requests, an intake rejection holding it), and from its
`person-returned` on, every event of its group too. Given a group id, every event of
the group. Entries are in log order and numbered; `caused_by` points at the entries
whose events caused each one (a `screened` event's causation is the digest of its
member events, resolved to those entries when they are here). `decision_chain` lists
the group's decisions (revision, what each supersedes, window) with its placements and
withdrawals, and which of them are live.

Personal data (names, date of birth, nationality, languages, declarations) are left out
of summaries and redacted from the JSON unless asked for: the decisions, flags and
codes are what an audit needs.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from schemas.base import sensitive_fields
from schemas.envelope import digest_of
from schemas.registry import TOPICS
from services.audit.assembly import Member, choose_members, current_records
from services.audit.events import PIPELINE_ORDER, Logged, in_log_order
from services.audit.summaries import summary, window_text

CASE_TOPICS = tuple(topic for topic in PIPELINE_ORDER if topic in TOPICS)
"""The topics a case timeline reads: every enveloped topic of the contract."""

REDACTED = "[redacted]"


@dataclass(frozen=True)
class TimelineEntry:
    """One event of the timeline, numbered from 1, with the entries that caused it."""

    number: int
    event: Logged
    caused_by: tuple[int, ...]
    summary: str


class CaseCollector:
    """Picks the events of one case or group out of the log, in log order, as they come."""

    def __init__(self, wanted: str, groups: Iterable[str] = ()) -> None:
        self.wanted = wanted
        self.groups: set[str] = {wanted, *groups}
        self.events: list[Logged] = []

    def chain_cut(self) -> bool:
        """Whether a decision kept supersedes one that is not kept: a case id's group was
        decided before the case arrived. A second replay with `again` takes it all."""
        kept = {event.event_id for event in self.events}
        return any(
            event.topic == "screened" and event.data.supersedes not in (None, *kept)
            for event in self.events
        )

    def again(self) -> CaseCollector:
        """A collector that keeps every event of the groups found, from the first."""
        return CaseCollector(self.wanted, self.groups)

    def feed(self, event: Logged) -> None:
        """Keep `event` when it belongs to the case (or the group)."""
        data = event.data
        if event.topic == "person-returned" and data.case_id == self.wanted:
            self.groups.add(data.group_id)
        if self._belongs(event):
            self.events.append(event)

    def _belongs(self, event: Logged) -> bool:
        data = event.data
        if event.envelope.correlation_id in self.groups:
            return True
        if getattr(data, "group_id", None) in self.groups:
            return True
        if getattr(data, "case_id", None) == self.wanted:
            return True
        members = getattr(data, "members", None) or []
        if any(getattr(m, "case_id", m) == self.wanted for m in members):
            return True
        return event.topic == "intake-rejected" and self._in_rejected(data.original_base64)

    def _in_rejected(self, original: str) -> bool:
        try:
            return self.wanted.encode() in base64.b64decode(original)
        except (binascii.Error, ValueError):
            return False


def build_timeline(
    events: Iterable[Logged], show_personal_data: bool = False
) -> list[TimelineEntry]:
    """Number `events` in log order and link each to the entries that caused it."""
    ordered = in_log_order(events)
    numbers = {event.event_id: number for number, event in enumerate(ordered, start=1)}
    return [
        TimelineEntry(
            number,
            event,
            _caused_by(event, ordered, numbers),
            summary(event, show_personal_data),
        )
        for number, event in enumerate(ordered, start=1)
    ]


def _caused_by(event: Logged, ordered: list[Logged], numbers: dict[str, int]) -> tuple[int, ...]:
    cause = event.envelope.causation_id
    if cause is None:
        return ()
    if cause in numbers:
        return (numbers[cause],)
    if event.topic != "screened":
        return ()
    listed = {member.case_id for member in event.data.members}
    members = [
        Member(e.event_id, e.where, e.occurred_at, e.data)
        for e in ordered
        if e.topic == "person-returned"
        and e.data.group_id == event.data.group_id
        and e.data.case_id in listed
    ]
    # The records screened decided on: each case's current one, as a rule (`assembly`).
    current = current_records(members)
    chosen, matches = current, digest_of([m.event_id for m in current]) == cause
    if not matches:
        chosen, matches = choose_members(members, cause)
    return tuple(sorted(numbers[m.event_id] for m in chosen)) if matches else ()


@dataclass(frozen=True)
class ChainStep:
    """One decision or placement of a group, as `case` lists them: what it follows, if live."""

    number: int
    group_id: str
    topic: str
    revision: int | None
    follows: int | None  # the entry it supersedes (a decision) or ends (a withdrawal)
    outcome: str
    reasons: str
    window: str
    live: bool


CHAIN_TOPICS = ("screened", "placement-deferred", "placed", "placement-withdrawn")


def decision_chain(entries: list[TimelineEntry]) -> list[ChainStep]:
    """The decisions of each group in the timeline and its placements, in log order.

    A decision is live while none supersedes it; a placement while no withdrawal or
    departure ended it. Two live decisions of a group are a split family.
    """
    numbers = {entry.event.event_id: entry.number for entry in entries}
    ended = _ended(entries)
    steps = []
    for entry in entries:
        event, data = entry.event, entry.event.data
        if event.topic not in CHAIN_TOPICS:
            continue
        if event.topic == "screened":
            step = ChainStep(
                entry.number,
                data.group_id,
                event.topic,
                data.revision,
                numbers.get(data.supersedes or ""),
                data.decision,
                ", ".join(f"{r.case_id or 'group'}:{r.code}" for r in data.reasons) or "-",
                window_text(data.window) if data.window else "-",
                event.event_id not in ended,
            )
        else:
            follows = numbers.get(getattr(data, "placed_event_id", None) or "")
            step = ChainStep(
                entry.number,
                data.group_id,
                event.topic,
                None,
                follows,
                _placement_outcome(event),
                getattr(data, "reason", None) or "-",
                "-",
                event.topic == "placed" and event.event_id not in ended,
            )
        steps.append(step)
    return steps


def _ended(entries: list[TimelineEntry]) -> set[str]:
    """Decisions superseded, placements withdrawn or left."""
    ended: set[str] = set()
    placed: dict[str, str] = {}  # group -> its last placement
    for entry in entries:
        event, data = entry.event, entry.event.data
        if event.topic == "screened" and data.supersedes:
            ended.add(data.supersedes)
        elif event.topic == "placed":
            placed[data.group_id] = event.event_id
        elif event.topic == "placement-withdrawn" and data.placed_event_id:
            ended.add(data.placed_event_id)
        elif event.topic == "shelter-departed" and data.group_id in placed:
            ended.add(placed[data.group_id])
    return ended


def _placement_outcome(event: Logged) -> str:
    data = event.data
    if event.topic == "placed":
        return f"placed at {data.location}/{data.shelter_id}, {len(data.members)} member(s)"
    if event.topic == "placement-deferred":
        return f"waiting at {data.location}, {len(data.members)} member(s)"
    return f"withdrawn, {data.beds_released} bed(s) released"


def timeline_json(
    entries: list[TimelineEntry], show_personal_data: bool = False
) -> list[dict[str, Any]]:
    """The timeline as JSON documents, personal data redacted unless asked for."""
    return [
        {
            "number": entry.number,
            "topic": entry.event.topic,
            "partition": entry.event.partition,
            "offset": entry.event.offset,
            "caused_by": list(entry.caused_by),
            "summary": entry.summary,
            "event": _document(entry.event, show_personal_data),
        }
        for entry in entries
    ]


def _document(event: Logged, show_personal_data: bool) -> dict[str, Any]:
    document: dict[str, Any] = event.envelope.model_dump(mode="json")
    # The data as held, not the topic's value type: an opened record is in the clear.
    model = type(event.envelope.data) if TOPICS[event.topic].value is not None else None
    if show_personal_data or model is None:
        return document
    for path in sensitive_fields(model):
        _redact(document["data"], path.split("."))
    return document


def _redact(document: Any, path: list[str]) -> None:
    if not isinstance(document, dict) or path[0] not in document:
        return
    if len(path) == 1:
        document[path[0]] = REDACTED
    else:
        _redact(document[path[0]], path[1:])
