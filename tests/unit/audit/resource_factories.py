"""Legal-aid requests with deadlines and reassignments, partner reports, and withdrawals.

Written the way notify writes them, into an `audit_factories.Log`, at minutes after T0.
"""

from __future__ import annotations

from typing import Any

from schemas.envelope import Envelope
from schemas.requests import LegalAidRequested, LegalAidUpdated, RequestUpdated
from tests.unit.audit.audit_factories import Log, at, caused


def request(
    log: Log,
    cause: Envelope[Any],
    minutes: float,
    *,
    provider: str = "LA-CJS-01",
    due_in: float | None = 600,
    purpose: Any = "immigration_hearing",
    replaces: Envelope[LegalAidRequested] | None = None,
    because: Any = None,
) -> Envelope[LegalAidRequested]:
    """A request for `cause`'s group, due `due_in` minutes after it is issued."""
    data = LegalAidRequested(
        group_id=cause.correlation_id,
        purpose=purpose,
        priority="normal" if purpose == "immigration_hearing" else "urgent",
        provider_id=provider,
        provider_choice="least loaded",
        location=getattr(cause.data, "location", None),
        shelter_id=getattr(cause.data, "shelter_id", None),
        members=["A212345678"],
        earliest_hearing_at=None,
        preferred_language="spa",
        interpreter_required=False,
        due_by=None if due_in is None else at(minutes + due_in),
        replaces=None if replaces is None else replaces.event_id,
        reassigned_because=because,
    )
    return log.add("legal-aid-requested", _envelope(data, cause, minutes, provider + purpose))


def report(
    log: Log, issued: Envelope[LegalAidRequested], status: Any, minutes: float
) -> Envelope[LegalAidUpdated]:
    """The partner's report of `status`, happened at `minutes` (written a moment later)."""
    data = LegalAidUpdated(
        group_id=issued.data.group_id,
        request_event_id=issued.event_id,
        provider_id=issued.data.provider_id,
        location=issued.data.location,
        purpose=issued.data.purpose,
        status=status,
        status_at=at(minutes),
        reason_code="NO_CAPACITY" if status == "declined" else None,
        partner_id="red-juridica-juarez",
    )
    return log.add("legal-aid-updated", _envelope(data, issued, minutes + 0.01, status))


def withdraw(
    log: Log, issued: Envelope[Any], minutes: float, reason: Any = "REASSIGNED"
) -> Envelope[RequestUpdated]:
    data = RequestUpdated(
        group_id=issued.data.group_id,
        request_event_id=issued.event_id,
        request_type=issued.event_type,
        provider_id=issued.data.provider_id,
        change="withdrawn",
        reason=reason,
        caused_by=issued.event_id,
        members=list(getattr(issued.data, "members", None) or [issued.data.case_id]),
    )
    return log.add("request-updated", _envelope(data, issued, minutes, reason))


def _envelope(data: Any, cause: Envelope[Any], minutes: float, part: str) -> Envelope[Any]:
    return caused(data, cause, minutes, part, producer="notify/test")
