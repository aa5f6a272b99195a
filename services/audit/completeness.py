"""Completeness: every decision that should have followed from another one is in the log.

- every person reaches a decision (checked by `verify` from the members no `screened`
  event took);
- every accepted group is placed or waiting (its latest placement event a deferral);
- every placed group has a legal-aid request (`immigration_hearing`), every group
  referred for fear of return one for its `non_refoulement_interview`, and every placed
  member who needs Covid-19 vaccination a `care-requested`.

Something missing is a mismatch only once its grace period has passed at `as_of` (the
end of the audit); before that it is pending. Kept per group: a few dates and flags.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from schemas.decisions import Placed, Screened
from schemas.requests import CareRequested, LegalAidRequested
from services.audit import findings
from services.audit.events import Logged
from services.audit.findings import Mismatch, Pending


@dataclass(slots=True)
class _Group:
    accepted_at: datetime | None = None
    referred_for_fear_at: datetime | None = None
    placed_at: datetime | None = None
    waiting: bool = False
    late_accepted: int = 0
    vaccinate: tuple[str, ...] = ()
    hearing_request: bool = False
    interview_request: bool = False
    decided: bool = False
    care: tuple[str, ...] = ()


class CompletenessTracker:
    """Feed it decisions and requests in log order; `findings` says what is missing."""

    def __init__(self) -> None:
        self._groups: dict[str, _Group] = {}
        self.mismatches: list[Mismatch] = []
        """Found as the events come: a second decision for a group."""

    def on_event(self, event: Logged) -> None:
        """Record what `event` decides or requests for its group."""
        data = event.data
        if event.topic == "screened":
            self._screened(cast(Screened, data), event)
        elif event.topic == "placed":
            group = self._group(cast(Placed, data).group_id)
            group.placed_at, group.waiting = event.occurred_at, False
        elif event.topic == "placement-deferred":
            group = self._group(data.group_id)
            group.waiting = group.placed_at is None
        elif event.topic == "legal-aid-requested":
            request = cast(LegalAidRequested, data)
            group = self._group(request.group_id)
            if request.purpose == "immigration_hearing":
                group.hearing_request = True
            else:
                group.interview_request = True
        elif event.topic == "care-requested":
            care = cast(CareRequested, data)
            if care.kind == "covid_vaccination":
                group = self._group(care.group_id)
                group.care = (*group.care, care.case_id)

    def _screened(self, data: Screened, event: Logged) -> None:
        group, at = self._group(data.group_id), event.occurred_at
        if data.decided_after is None:
            if group.decided:
                detail = f"a second decision ({data.decision}) for the group"
                mismatch = Mismatch(
                    findings.GROUP_DECIDED_TWICE, detail, data.group_id, event.where
                )
                self.mismatches.append(mismatch)
            group.decided = True
        if data.decision == "accepted":
            if data.decided_after is not None:
                group.late_accepted += 1
                return
            group.accepted_at = at
            group.vaccinate = tuple(
                m.case_id for m in data.members if "covid_vaccination" in m.needs
            )
        fear = any(reason.code == "FEAR_OF_RETURN" for reason in data.reasons)
        if data.decision == "referred" and fear:
            group.referred_for_fear_at = at

    def _group(self, group_id: str) -> _Group:
        group = self._groups.get(group_id)
        if group is None:
            group = self._groups[group_id] = _Group()
        return group

    @property
    def late_members_accepted(self) -> int:
        """Members accepted after their group was decided: placement leaves them to ops."""
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
    if group.placed_at is not None:
        if not group.hearing_request:
            yield group.placed_at, findings.MISSING_LEGAL_AID, "placed, no immigration_hearing"
        for case_id in group.vaccinate:
            if case_id not in group.care:
                detail = f"{case_id} needs covid_vaccination, no care-requested"
                yield group.placed_at, findings.MISSING_CARE, detail
    if group.referred_for_fear_at is not None and not group.interview_request:
        detail = "referred for fear of return, no non_refoulement_interview"
        yield group.referred_for_fear_at, findings.MISSING_LEGAL_AID, detail
