"""`returns audit case ID`: one case or group across every topic, with its causation links.

Given a case id, the events that name it are picked out (its `person-returned`, the
decisions listing it, its care requests, an intake rejection holding it), and from its
`person-returned` on, every event of its group too. Given a group id, every event of
the group. Entries are in log order and numbered; `caused_by` points at the entries
whose events caused each one (a `screened` event's causation is the digest of its
member events, resolved to those entries when they are here).

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
from services.audit.events import PIPELINE_ORDER, Logged, in_log_order
from services.audit.summaries import summary

CASE_TOPICS = PIPELINE_ORDER
"""The topics a case timeline reads: every enveloped topic."""

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

    def __init__(self, wanted: str) -> None:
        self.wanted = wanted
        self.groups: set[str] = {wanted}
        self.events: list[Logged] = []

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
        e
        for e in ordered
        if e.topic == "person-returned"
        and e.data.group_id == event.data.group_id
        and e.data.case_id in listed
    ]
    if digest_of([m.event_id for m in members]) == cause:
        return tuple(sorted(numbers[m.event_id] for m in members))
    single = [m for m in members if digest_of([m.event_id]) == cause]
    return tuple(numbers[m.event_id] for m in single)


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
    model = TOPICS[event.topic].value
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
