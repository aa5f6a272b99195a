"""Reassigned legal-aid requests name the request they replace, and that one was withdrawn.

A provider that declines a request, or does not accept it by its `accept_by`, loses it:
notify withdraws it (`request-updated`, change `withdrawn`, reason `REASSIGNED`) and
issues a new `legal-aid-requested` that `replaces` it. So:

- a request with `replaces` names an earlier request of the same group (else
  `REPLACES_NOTHING`: the chain of the group's requests is broken);
- that request was withdrawn with reason `REASSIGNED` (else `REPLACED_NOT_WITHDRAWN`,
  once the grace has passed: the two events may come a moment apart, in either order);
- a request withdrawn as `REASSIGNED` has a replacement (else
  `REASSIGNED_WITHOUT_REPLACEMENT` after the grace: the group was left without one).

Kept per request: its group, whether it was withdrawn so, and what replaces it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.audit import findings
from services.audit.events import Logged
from services.audit.findings import Mismatch, Pending

REASSIGNED = "REASSIGNED"


@dataclass(slots=True)
class _Request:
    group_id: str
    where: str
    at: datetime
    replaces: str | None
    reassigned_at: datetime | None = None
    replaced_by: str | None = None


class ReassignmentTracker:
    """Feed it `legal-aid-requested` and `request-updated` in log order."""

    def __init__(self) -> None:
        self._requests: dict[str, _Request] = {}
        self.mismatches: list[Mismatch] = []
        self.checked = 0

    def on_event(self, event: Logged) -> None:
        data = event.data
        if event.topic == "legal-aid-requested":
            replaces = getattr(data, "replaces", None)
            request = _Request(data.group_id, event.where, event.occurred_at, replaces)
            self._requests.setdefault(event.event_id, request)
            if replaces is not None:
                self._replacement(event, replaces)
        elif event.topic == "request-updated" and data.change == "withdrawn":
            found = self._requests.get(data.request_event_id)
            if found is not None and data.reason == REASSIGNED and found.reassigned_at is None:
                found.reassigned_at = event.occurred_at

    def _replacement(self, event: Logged, replaces: str) -> None:
        self.checked += 1
        group_id = event.data.group_id
        replaced = self._requests.get(replaces)
        if replaced is None or replaced.group_id != group_id:
            whose = "no request" if replaced is None else f"a request of {replaced.group_id}"
            detail = f"replaces {replaces[:8]}, which is {whose} in the log before it"
            self.mismatches.append(
                Mismatch(findings.REPLACES_NOTHING, detail, group_id, event.where)
            )
            return
        replaced.replaced_by = event.event_id

    def findings(self, as_of: datetime, grace: timedelta) -> Iterator[Mismatch | Pending]:
        """Replaced requests never withdrawn as reassigned, and reassignments never replaced."""
        for event_id, request in self._requests.items():
            if request.replaces is not None:
                replaced = self._requests.get(request.replaces)
                same_group = replaced is not None and replaced.group_id == request.group_id
                if same_group and replaced is not None and replaced.reassigned_at is None:
                    detail = f"replaces {request.replaces[:8]}, never withdrawn as {REASSIGNED}"
                    yield _found(findings.REPLACED_NOT_WITHDRAWN, detail, request, as_of, grace)
            if request.reassigned_at is not None and request.replaced_by is None:
                detail = f"{event_id[:8]} withdrawn as {REASSIGNED}, no request replaces it"
                yield _found(
                    findings.REASSIGNED_WITHOUT_REPLACEMENT,
                    detail,
                    request,
                    as_of,
                    grace,
                    since=request.reassigned_at,
                )


def _found(
    category: str,
    detail: str,
    request: _Request,
    as_of: datetime,
    grace: timedelta,
    since: datetime | None = None,
) -> Mismatch | Pending:
    if (since or request.at) + grace <= as_of:
        return Mismatch(category, detail, request.group_id, request.where)
    return Pending(category, request.group_id, detail)
