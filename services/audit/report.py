"""`returns audit report`: the cohort report a ministry would publish, per crossing.

The cohort is every group whose return (its first `person-returned`, else its
`screened.returned_at`) falls on a local date from `start` to `end`, inclusive; each
crossing's row is its designated location's. Everything about a group counts in its
row: people returned, decisions (groups and people), specific needs as UNHCR codes,
vaccination needs and requests, interpreter languages, placements (rerouted ones too)
and the hours from return to placement (p50 and p95, nearest rank), deferrals, and
legal-aid requests by purpose and priority.

Only live decisions and placements count: a re-decision takes the place of the decision
it supersedes, a withdrawn placement no longer counts, and a correction is no new
return. Kept per group: its row, return time, live decision and live placement.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from schemas.decisions import Placed, Screened
from schemas.person import PersonReturned
from services.audit.events import Logged
from services.reference import Reference

REPORT_TOPICS = (
    "person-returned",
    "screened",
    "placement-withdrawn",
    "placement-deferred",
    "placed",
    "legal-aid-requested",
    "care-requested",
)
"""The topics `report` reads."""

UNHCR_CODES: dict[str, str | None] = {
    "UNACCOMPANIED_MINOR": "SC-UC / SC-UM",
    "PREGNANT": "PG",
    "PHYSICAL_ILLNESS": "SM",
    "MENTAL_ILLNESS": "SM-MI",
    "DISABILITY": "DS",
    "OLDER_PERSON": "ER",
    "LGBTI": "LP-RP",
    "FEAR_OF_RETURN": "LP-RR",
    "MONOLINGUAL_INDIGENOUS": None,
    "MEXICAN_NATIONAL": None,
}
"""Our flags (and the fear-of-return reason) as UNHCR specific-needs codes (DOMAIN.md)."""

NO_UNHCR_CODE = "no UNHCR code"
DECISIONS = ("accepted", "declined", "referred", "not_eligible")


def unhcr_code(flag: str) -> str:
    """The UNHCR specific-needs code of one of our flags, or `NO_UNHCR_CODE`."""
    return UNHCR_CODES.get(flag) or NO_UNHCR_CODE


def percentile(values: list[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` 0.5 for the median) of `values`, None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


@dataclass
class Row:
    """One crossing and its designated location."""

    crossing: str
    location: str
    returns: int = 0
    groups: int = 0
    group_decisions: Counter[str] = field(default_factory=Counter)
    person_decisions: Counter[str] = field(default_factory=Counter)
    specific_needs: Counter[str] = field(default_factory=Counter)
    vaccination_needs: int = 0
    vaccination_requests: int = 0
    interpreters: Counter[str] = field(default_factory=Counter)
    placed_groups: int = 0
    placed_people: int = 0
    rerouted_groups: int = 0
    deferrals: Counter[str] = field(default_factory=Counter)
    hours_to_placement: list[float] = field(default_factory=list)
    legal_aid: Counter[tuple[str, str]] = field(default_factory=Counter)
    decisions_by_day: Counter[tuple[date, str]] = field(default_factory=Counter)

    def add(self, other: Row) -> None:
        """Add `other`'s counts to this row (for the totals)."""
        for name, value in vars(other).items():
            if isinstance(value, (int, Counter, list)) and not isinstance(value, bool):
                setattr(self, name, getattr(self, name) + value)


@dataclass
class CohortReport:
    """The rows of one cohort, by crossing code."""

    start: date
    end: date
    rows: dict[str, Row]

    def total(self) -> Row:
        """Every row added up."""
        total = Row("ALL", "ALL")
        for row in self.rows.values():
            total.add(row)
        return total


class CohortBuilder:
    """Feed it the report's topics in log order; `result` gives the report."""

    def __init__(self, reference: Reference, start: date, end: date) -> None:
        self.reference = reference
        self.report = CohortReport(start, end, {})
        self._groups: dict[str, tuple[str, datetime] | None] = {}
        self._live: dict[str, Screened] = {}
        self._placed: dict[str, tuple[Placed, float]] = {}  # live placement, hours to it

    def feed(self, event: Logged) -> None:
        """Count `event` in its group's row, when its group is in the cohort."""
        data: Any = event.data
        if event.topic not in REPORT_TOPICS:
            return
        if event.topic == "person-returned":
            person = cast(PersonReturned, data)
            row = self._row(person.group_id, person.crossing, person.returned_at)
            if row is not None and person.corrects is None:
                row.returns += 1
            return
        if event.topic == "screened":
            self._screened(cast(Screened, data), event.envelope.crossing)
            return
        row = self._row(data.group_id, event.envelope.crossing, None)
        if row is None:
            return
        if event.topic == "placed":
            self._placement(row, cast(Placed, data), event.occurred_at)
        elif event.topic == "placement-withdrawn":
            self._withdrawn(row, data.group_id)
        elif event.topic == "placement-deferred":
            row.deferrals[data.reason] += 1
        elif event.topic == "legal-aid-requested":
            row.legal_aid[(data.purpose, data.priority)] += 1
        elif event.topic == "care-requested" and data.kind == "covid_vaccination":
            row.vaccination_requests += 1

    def result(self) -> CohortReport:
        return self.report

    def _row(self, group_id: str, crossing: str | None, returned_at: datetime | None) -> Row | None:
        if group_id not in self._groups and crossing is not None and returned_at is not None:
            local = returned_at.date()
            inside = self.report.start <= local <= self.report.end
            known = crossing in self.reference.crossing_codes
            self._groups[group_id] = (crossing, returned_at) if inside and known else None
        found = self._groups.get(group_id)
        if found is None:
            return None
        code = found[0]
        row = self.report.rows.get(code)
        if row is None:
            location = self.reference.location_for_crossing(code).code
            row = self.report.rows[code] = Row(code, location)
        return row

    def _screened(self, data: Screened, crossing: str | None) -> None:
        row = self._row(data.group_id, crossing, data.returned_at)
        if row is None:
            return
        if data.decided_after is None:  # else a legacy late member, counted beside
            previous = self._live.pop(data.group_id, None)
            if previous is not None:
                self._count(row, previous, -1)
            self._live[data.group_id] = data
        self._count(row, data, 1)

    def _count(self, row: Row, data: Screened, sign: int) -> None:
        """Add (`sign` 1) or take back (-1) what one decision counts."""
        if data.decided_after is None:
            row.groups += sign
            _add(row.group_decisions, data.decision, sign)
        _add(row.person_decisions, data.decision, sign * len(data.members))
        day = self._returned_at(data.group_id).date()
        _add(row.decisions_by_day, (day, data.decision), sign * len(data.members))
        for member in data.members:
            for flag in member.flags:
                _add(row.specific_needs, flag, sign)
            if "covid_vaccination" in member.needs:
                row.vaccination_needs += sign
            if member.interpreter_language:
                _add(row.interpreters, member.interpreter_language, sign)
        fear = [r for r in data.reasons if r.code == "FEAR_OF_RETURN"]
        _add(row.specific_needs, "FEAR_OF_RETURN", sign * len(fear))

    def _placement(self, row: Row, data: Placed, at: datetime) -> None:
        self._withdrawn(row, data.group_id)  # a group has one live placement
        hours = round((at - self._returned_at(data.group_id)).total_seconds() / 3600, 3)
        self._placed[data.group_id] = (data, hours)
        row.placed_groups += 1
        row.placed_people += len(data.members)
        row.rerouted_groups += data.rerouted_from is not None
        row.hours_to_placement.append(hours)

    def _withdrawn(self, row: Row, group_id: str) -> None:
        found = self._placed.pop(group_id, None)
        if found is None:
            return
        data, hours = found
        row.placed_groups -= 1
        row.placed_people -= len(data.members)
        row.rerouted_groups -= data.rerouted_from is not None
        row.hours_to_placement.remove(hours)

    def _returned_at(self, group_id: str) -> datetime:
        found = self._groups[group_id]
        assert found is not None
        return found[1]


def _add(counter: Counter[Any], key: Any, amount: int) -> None:
    """Add to a count, dropping it at zero: a figure taken back is not shown as 0."""
    counter[key] += amount
    if counter[key] <= 0:
        del counter[key]
