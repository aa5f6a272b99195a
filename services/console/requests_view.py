"""The requests page's rows: each legal-aid and care request with its state. Pure.

Built from the log (``legal-aid-requested``, ``care-requested``, ``request-updated``,
``notification-delivered``, ``notification-failed``). Delivery: ``delivered`` once a
partner acknowledged it, ``failed`` when the last outcome is a failure, ``redelivered``
when a delivery succeeded after a failure (``returns notify redeliver``), else
``pending``. A request is ``overdue`` when it is open and its due time has passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.audit.events import Logged

REQUEST_TOPICS = (
    "legal-aid-requested",
    "care-requested",
    "request-updated",
    "notification-delivered",
    "notification-failed",
)
Delivery = Literal["pending", "delivered", "failed", "redelivered"]


@dataclass(frozen=True)
class RequestRow:
    event_id: str
    group_id: str
    kind: str  # immigration_hearing, non_refoulement_interview, covid_vaccination, ...
    provider_id: str
    location: str | None
    priority: str | None
    due_by: datetime | None
    requested_at: datetime
    withdrawn: bool = False
    delivery: Delivery = "pending"

    def overdue(self, now: datetime) -> bool:
        return not self.withdrawn and self.due_by is not None and self.due_by < now


def request_rows(events: Iterable[Logged]) -> list[RequestRow]:
    """Every request in the log with its latest state, by provider then due time."""
    rows: dict[str, RequestRow] = {}
    for event in events:
        data = event.data
        if event.topic == "legal-aid-requested":
            rows[event.event_id] = RequestRow(
                event.event_id,
                data.group_id,
                data.purpose,
                data.provider_id,
                data.location,
                data.priority,
                data.due_by,
                event.occurred_at,
            )
        elif event.topic == "care-requested":
            rows[event.event_id] = RequestRow(
                event.event_id,
                data.group_id,
                data.kind,
                data.provider_id,
                data.location,
                None,
                None,
                event.occurred_at,
            )
        elif event.topic == "request-updated" and data.request_event_id in rows:
            row = rows[data.request_event_id]
            rows[row.event_id] = replace(
                row,
                withdrawn=data.change == "withdrawn",
                priority=data.priority or row.priority,
                location=data.location or row.location,
            )
        elif event.topic in ("notification-delivered", "notification-failed"):
            notified = rows.get(data.notified_event_id)
            if notified is not None:
                rows[notified.event_id] = replace(
                    notified, delivery=_next_delivery(notified, event.topic)
                )
    return sorted(rows.values(), key=_order)


def _next_delivery(row: RequestRow, topic: str) -> Delivery:
    if topic == "notification-failed":
        return "failed" if row.delivery != "delivered" else "delivered"
    return "redelivered" if row.delivery == "failed" else "delivered"


def _order(row: RequestRow) -> tuple[str, int, str, str]:
    urgent = 0 if row.priority == "urgent" else 1
    due = row.due_by.isoformat() if row.due_by else "~"
    return (row.provider_id, urgent, due, row.requested_at.isoformat())
