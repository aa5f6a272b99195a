"""Legal-aid requests and what their providers reported, per provider and month. Pure.

A request is its `legal-aid-requested` event (issued at its `occurred_at`); its
progress comes from `legal-aid-updated` (the partner's `status_at` for `accepted`,
`first_contact`, `closed`, `declined`: the first report of each counts) and its end
from a `request-updated` withdrawal. Hours to `accepted` and to `first_contact` run
from the request's issue. A request is due once its `due_by` has passed at the end of
the audit, unless it was withdrawn before then (its replacement carries the duty); a
due request is overdue when no first contact was reported by its `due_by`. A
reassignment is a request that `replaces` another; the provider it left counts it as
reassigned away.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

from services.audit.occupancy import Month, month_of

STATUSES = ("accepted", "declined", "first_contact", "closed")


@dataclass(slots=True)
class Request:
    """One legal-aid request and the moments of its progress."""

    event_id: str
    group_id: str
    provider_id: str
    location: str
    purpose: str
    issued_at: datetime
    due_by: datetime | None
    replaces: str | None
    reassigned_because: str | None
    reported: dict[str, datetime] = field(default_factory=dict)  # status -> status_at
    withdrawn_at: datetime | None = None
    withdrawn_reason: str | None = None

    def hours_to(self, status: str) -> float | None:
        at = self.reported.get(status)
        return None if at is None else round((at - self.issued_at).total_seconds() / 3600, 3)

    def due(self, until: datetime) -> bool:
        """Its `due_by` passed by `until`, and it was not withdrawn before."""
        if self.due_by is None or self.due_by > until:
            return False
        return self.withdrawn_at is None or self.withdrawn_at >= self.due_by

    def overdue(self, until: datetime) -> bool:
        """Due by `until`, and no first contact reported by its `due_by`."""
        if self.due_by is None or not self.due(until):
            return False
        contact = self.reported.get("first_contact")
        return contact is None or contact > self.due_by


@dataclass
class ProviderMonth:
    """One provider's requests issued in one month at one location."""

    location: str
    month: Month
    provider_id: str
    requests: int = 0
    by_purpose: Counter[str] = field(default_factory=Counter)
    reported: Counter[str] = field(default_factory=Counter)
    hours_to_accepted: list[float] = field(default_factory=list)
    hours_to_first_contact: list[float] = field(default_factory=list)
    due: int = 0
    overdue: int = 0
    reassigned_to: Counter[str] = field(default_factory=Counter)  # by reassigned_because
    reassigned_away: int = 0

    @property
    def overdue_share(self) -> float | None:
        return self.overdue / self.due if self.due else None


class LegalAidTracker:
    """Feed it requests, partner reports and withdrawals in log order."""

    def __init__(self) -> None:
        self.requests: dict[str, Request] = {}
        self.orphan_reports = 0  # reports of a request not in the log read

    def requested(
        self, event_id: str, data: Any, location: str, at: datetime, due_by: datetime | None
    ) -> None:
        """A `legal-aid-requested` issued `at`, due by `due_by` (on the report's clock)."""
        self.requests.setdefault(
            event_id,
            Request(
                event_id=event_id,
                group_id=data.group_id,
                provider_id=data.provider_id,
                location=location,
                purpose=data.purpose,
                issued_at=at,
                due_by=due_by,
                replaces=getattr(data, "replaces", None),
                reassigned_because=getattr(data, "reassigned_because", None),
            ),
        )

    def reported(self, request_event_id: str, status: str, status_at: datetime) -> None:
        """A partner's report (`legal-aid-updated`): the first of each status counts."""
        request = self.requests.get(request_event_id)
        if request is None:
            self.orphan_reports += 1
            return
        request.reported.setdefault(status, status_at)

    def withdrawn(self, request_event_id: str, reason: str, at: datetime) -> None:
        request = self.requests.get(request_event_id)
        if request is not None and request.withdrawn_at is None:
            request.withdrawn_at, request.withdrawn_reason = at, reason

    def months(
        self, first: date, last: date, until: datetime, zones: dict[str, tzinfo]
    ) -> list[ProviderMonth]:
        """Per location, month and provider: the requests issued from `first` to `last`."""
        found: dict[tuple[str, Month, str], ProviderMonth] = {}

        def row(request: Request) -> ProviderMonth | None:
            zone = zones.get(request.location, request.issued_at.tzinfo)
            day = request.issued_at.astimezone(zone).date()
            if not first <= day <= last:
                return None
            key = (request.location, month_of(day), request.provider_id)
            if key not in found:
                found[key] = ProviderMonth(*key)
            return found[key]

        for request in self.requests.values():
            target = row(request)
            if target is None:
                continue
            target.requests += 1
            target.by_purpose[request.purpose] += 1
            for status, at in request.reported.items():
                if at <= until:
                    target.reported[status] += 1
            for status, values in (
                ("accepted", target.hours_to_accepted),
                ("first_contact", target.hours_to_first_contact),
            ):
                hours = request.hours_to(status)
                if hours is not None and request.reported[status] <= until:
                    values.append(hours)
            target.due += request.due(until)
            target.overdue += request.overdue(until)
            if request.replaces is not None:
                target.reassigned_to[request.reassigned_because or "UNSTATED"] += 1
            if request.withdrawn_reason == "REASSIGNED":
                target.reassigned_away += 1
        return [found[key] for key in sorted(found)]
