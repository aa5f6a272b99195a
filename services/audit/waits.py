"""Unmet demand: the groups that waited for a place, why, and for how long. Pure.

A wait starts at a group's first `placement-deferred` while it holds no place, with
that event's reason and `deferred_since`, and its members (people). It ends at the
group's `placed` (served) or at a `placement-withdrawn` that takes it out of the queue
(`NO_LONGER_ACCEPTED`); a `GROUP_CHANGED` withdrawal of a waiting group does not end
it, since the whole group is placed or deferred again at once (the members of that
next event count). A wait still open when the log ends runs to the end of the audit.

Reasons are grouped for the report as placement names them: the daily reception cap
(`DAILY_CAP_REACHED`), shelter beds (`NO_SHELTER_CAPACITY`,
`GROUP_EXCEEDS_LARGEST_SHELTER`) and a suspended location (`LOCATION_SUSPENDED`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo

from services.audit.occupancy import Month, month_of

CAUSES = {
    "DAILY_CAP_REACHED": "daily_cap",
    "NO_SHELTER_CAPACITY": "shelter_beds",
    "GROUP_EXCEEDS_LARGEST_SHELTER": "shelter_beds",
    "LOCATION_SUSPENDED": "location_suspended",
}
"""Each deferral reason's cause of unmet demand."""

CAUSE_ORDER = ("daily_cap", "shelter_beds", "location_suspended")


@dataclass(slots=True)
class Wait:
    group_id: str
    location: str
    reason: str
    since: datetime
    people: int
    end: datetime | None = None
    served: bool = False


@dataclass
class WaitMonth:
    """The waits that began in one month at one location for one reason."""

    location: str
    month: Month
    reason: str
    groups: int = 0
    people: int = 0
    served: int = 0
    still_waiting: int = 0
    days: list[float] = field(default_factory=list)  # per group, to its end or the audit's
    person_days: float = 0.0

    @property
    def cause(self) -> str:
        return CAUSES.get(self.reason, self.reason.lower())


class WaitTracker:
    """Feed it deferrals, placements and withdrawals in log order."""

    def __init__(self) -> None:
        self._open: dict[str, Wait] = {}
        self.waits: list[Wait] = []

    def deferred(
        self, group_id: str, location: str, reason: str, since: datetime, people: int
    ) -> None:
        wait = self._open.get(group_id)
        if wait is not None:
            wait.people = people  # a re-deferral after GROUP_CHANGED: the group as it now is
            return
        wait = Wait(group_id, location, reason, since, people)
        self._open[group_id] = wait
        self.waits.append(wait)

    def placed(self, group_id: str, at: datetime) -> None:
        wait = self._open.pop(group_id, None)
        if wait is not None:
            wait.end, wait.served = max(at, wait.since), True

    def withdrawn(self, group_id: str, reason: str, at: datetime) -> None:
        if reason == "GROUP_CHANGED":
            return
        wait = self._open.pop(group_id, None)
        if wait is not None:
            wait.end = max(at, wait.since)

    def months(
        self, first: date, last: date, until: datetime, zones: dict[str, tzinfo]
    ) -> list[WaitMonth]:
        """The waits that began from `first` to `last` (local dates), open ones cut at `until`."""
        found: dict[tuple[str, Month, str], WaitMonth] = {}
        for wait in self.waits:
            zone = zones.get(wait.location, wait.since.tzinfo)
            day = wait.since.astimezone(zone).date()
            if not first <= day <= last:
                continue
            key = (wait.location, month_of(day), wait.reason)
            row = found.get(key)
            if row is None:
                row = found[key] = WaitMonth(*key)
            ended = wait.end is not None and wait.end <= until
            end = wait.end if wait.end is not None and ended else until
            days = max(0.0, (end - wait.since).total_seconds() / 86_400)
            row.groups += 1
            row.people += wait.people
            row.served += wait.served and ended
            row.still_waiting += not ended
            row.days.append(round(days, 4))
            row.person_days += days * wait.people
        return [found[key] for key in sorted(found)]
