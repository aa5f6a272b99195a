"""A group's legal-aid requests and the states each went through, for `returns audit case`.

Each `legal-aid-requested` of the timeline is `issued`; its partner's reports
(`legal-aid-updated`) add `accepted`, `first_contact`, `closed` or `declined`; a
`request-updated` withdrawal adds `reassigned` (reason `REASSIGNED`) or `withdrawn`,
and a request that `replaces` it names the entry that took over. Each state keeps the
timeline entry it comes from, so an auditor can find the record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from services.audit.timeline import TimelineEntry


@dataclass(frozen=True)
class State:
    """One state of a request: its name, when, and the entry that recorded it."""

    name: str
    at: datetime
    entry: int


@dataclass
class RequestStates:
    """One legal-aid request of a group: what it was for, who had it, what became of it."""

    entry: int
    event_id: str
    group_id: str
    purpose: str
    provider_id: str
    replaces: int | None = None  # the entry of the request it replaces
    replaced_by: int | None = None
    states: list[State] = field(default_factory=list)

    @property
    def current(self) -> str:
        return self.states[-1].name if self.states else "issued"


def request_states(entries: list[TimelineEntry]) -> list[RequestStates]:
    """The legal-aid requests in `entries`, in the order they were issued."""
    found: dict[str, RequestStates] = {}
    for entry in entries:
        event, data = entry.event, entry.event.data
        if event.topic == "legal-aid-requested":
            request = RequestStates(
                entry.number, event.event_id, data.group_id, data.purpose, data.provider_id
            )
            request.states.append(State("issued", event.occurred_at, entry.number))
            replaced = found.get(getattr(data, "replaces", None) or "")
            if replaced is not None:
                request.replaces, replaced.replaced_by = replaced.entry, entry.number
            found.setdefault(event.event_id, request)
        elif event.topic == "legal-aid-updated":
            reported = found.get(data.request_event_id)
            if reported is not None:
                reported.states.append(State(data.status, data.status_at, entry.number))
        elif event.topic == "request-updated" and data.change == "withdrawn":
            ended = found.get(data.request_event_id)
            if ended is not None:
                name = "reassigned" if data.reason == "REASSIGNED" else "withdrawn"
                ended.states.append(State(name, event.occurred_at, entry.number))
    return list(found.values())
