"""Completeness: every decision that should have followed the live one is in the log.

A group's live decision is its last `screened` event (`screening_check.ChainTracker`
checks the chain); what is owed follows it alone:

- every person reaches a decision (checked by `verify` from the groups no `screened`
  event decided);
- a group whose live decision is accepted is placed or waiting (its live placement: a
  `placed` not followed by `placement-withdrawn`; or a deferral since);
- a placed group has an open legal-aid request (`immigration_hearing`), a group whose
  live decision refers it for fear of return one for its `non_refoulement_interview`
  (once a request is withdrawn, its grace runs again from the withdrawal: a reassigned
  request is replaced right after),
  and every member of the live decision who needs Covid-19 vaccination an open
  `care-requested` (a request stays open until a `request-updated` withdraws it).

Something missing is a mismatch only once its grace period has passed at `as_of` (the
end of the audit); before that it is pending. Kept per group: a few dates and ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from schemas.decisions import Screened
from schemas.requests import CareRequested, LegalAidRequested, RequestUpdated
from services.audit import findings
from services.audit.events import Logged
from services.audit.findings import Mismatch, Pending
from services.notify.requests import referred_for_fear


@dataclass(slots=True)
class _Group:
    accepted_at: datetime | None = None  # of the live decision
    referred_for_fear_at: datetime | None = None  # of the live decision
    placed_at: datetime | None = None  # of the live placement
    waiting: bool = False
    late_accepted: int = 0
    vaccinate: tuple[str, ...] = ()
    legal_aid: dict[str, str] = field(default_factory=dict)  # open request -> purpose
    uncovered_since: dict[str, datetime] = field(default_factory=dict)  # purpose -> withdrawn at
    care: dict[str, str] = field(default_factory=dict)  # open request -> case id


class CompletenessTracker:
    """Feed it decisions and requests in log order; `findings` says what is missing."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}
        self.mismatches: list[Mismatch] = []
        """Found as the events come (none since split families moved to the chains)."""

    def on_event(self, event: Logged) -> None:
        """Record what `event` decides or requests for its group."""
        data = event.data
        if event.topic == "screened":
            self._screened(cast(Screened, data), event.occurred_at)
            return
        group = self._group(data.group_id) if hasattr(data, "group_id") else None
        if group is None:
            return
        if event.topic == "placed":
            group.placed_at, group.waiting = event.occurred_at, False
        elif event.topic == "placement-withdrawn":
            group.placed_at, group.waiting = None, False
        elif event.topic == "placement-deferred":
            group.waiting = group.placed_at is None
        elif event.topic == "legal-aid-requested":
            group.legal_aid[event.event_id] = cast(LegalAidRequested, data).purpose
        elif event.topic == "care-requested":
            care = cast(CareRequested, data)
            if care.kind == "covid_vaccination":
                group.care[event.event_id] = care.case_id
        elif event.topic == "request-updated":
            update = cast(RequestUpdated, data)
            if update.change == "withdrawn":
                purpose = group.legal_aid.pop(update.request_event_id, None)
                if purpose is not None:
                    group.uncovered_since[purpose] = event.occurred_at
                group.care.pop(update.request_event_id, None)

    def _screened(self, data: Screened, at: datetime) -> None:
        group = self._group(data.group_id)
        fear = referred_for_fear(data)  # notify's own rule: it requests the interview
        if data.decided_after is not None:  # legacy: a late member decided alone
            if data.decision == "accepted":
                group.late_accepted += 1
            elif fear:
                group.referred_for_fear_at = at
            return
        accepted = data.decision == "accepted"
        group.accepted_at = at if accepted else None
        group.vaccinate = tuple(
            m.case_id for m in data.members if accepted and "covid_vaccination" in m.needs
        )
        group.referred_for_fear_at = at if fear else None

    def _group(self, group_id: str) -> _Group:
        group = self._groups.get(group_id)
        if group is None:
            group = self._groups[group_id] = _Group()
        return group

    @property
    def late_members_accepted(self) -> int:
        """Legacy late members accepted alone (`decided_after`): placement left them to ops."""
        return sum(group.late_accepted for group in self._groups.values())

    def findings(self, as_of: datetime, grace: timedelta) -> Iterator[Mismatch | Pending]:
        """What is missing: a `Mismatch` once `grace` has passed at `as_of`, else `Pending`."""
        for group_id, group in sorted(self._groups.items()):
            for since, category, detail in _missing(group):
                if since + grace <= as_of:
                    yield Mismatch(category, detail, group_id)
                else:
                    yield Pending(category, group_id, detail)


def _missing(group: _Group) -> Iterator[tuple[datetime, str, str]]:
    if group.accepted_at is not None and group.placed_at is None and not group.waiting:
        yield group.accepted_at, findings.ACCEPTED_NOT_PLACED, "accepted, no placement event"
    purposes = set(group.legal_aid.values())
    if group.placed_at is not None:
        if "immigration_hearing" not in purposes:
            since = _since(group, group.placed_at, "immigration_hearing")
            yield since, findings.MISSING_LEGAL_AID, "placed, no immigration_hearing"
        cared = set(group.care.values())
        for case_id in group.vaccinate:
            if case_id not in cared:
                detail = f"{case_id} needs covid_vaccination, no care-requested"
                yield group.placed_at, findings.MISSING_CARE, detail
    if group.referred_for_fear_at is not None and "non_refoulement_interview" not in purposes:
        detail = "referred for fear of return, no non_refoulement_interview"
        since = _since(group, group.referred_for_fear_at, "non_refoulement_interview")
        yield since, findings.MISSING_NON_REFOULEMENT, detail


def _since(group: _Group, owed_since: datetime, purpose: str) -> datetime:
    """When the request became owed: the cause, or the withdrawal of the last one (a
    reassignment leaves a moment between the withdrawal and its replacement)."""
    withdrawn = group.uncovered_since.get(purpose)
    return owed_since if withdrawn is None else max(owed_since, withdrawn)
