"""`returns audit report --resources`: what the returns cost in beds, waits and partners' time.

Per location and month (local dates, the offset of the groups' `returned_at`):

- shelters: bed-nights and peak occupancy against beds (`occupancy`);
- unmet demand: the groups and people deferred and the days they waited, by reason,
  the daily cap apart from shelter beds (`waits`);
- legal aid per provider: hours to `accepted` and to `first_contact` (p50, p95,
  nearest rank), the share overdue, and reassignments (`legal_aid_progress`);
- vaccination: `care-requested` of kind `covid_vaccination`, and those withdrawn.

Every figure is recomputed from the events read, and the report lists them: per topic,
how many, the first and last offset of each partition, and the first and last
`occurred_at`. The end of the audit (`until`) is the last `occurred_at` read, unless an
earlier one is given: open stays and waits run to it, and requests are due by it.

A compressed run (`returns simulate --clock-scale K`: partners answer K times faster)
is read with `clock_scale` K: every time the figures use (an event's `occurred_at`,
`deferred_since`, `status_at`, `due_by`, `effective_at`) becomes
`origin + (t - origin) * K`, the origin being the first event read. Only the reading
of the clock changes; the events counted are the same, and the times listed as read
are the recorded ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from services.audit.events import Logged
from services.audit.legal_aid_progress import LegalAidTracker, ProviderMonth
from services.audit.occupancy import Month, OccupancyTracker, ShelterMonth, month_of
from services.audit.waits import WaitMonth, WaitTracker
from services.reference import Reference

RESOURCE_TOPICS = (
    "screened",
    "capacity-updated",
    "shelter-departed",
    "placement-withdrawn",
    "placement-deferred",
    "placed",
    "legal-aid-requested",
    "care-requested",
    "request-updated",
    "legal-aid-updated",
)
"""The topics the resources report reads."""

OPTIONAL_TOPICS = frozenset({"legal-aid-updated"})
"""Read when the stack has them: without partner reports, progress figures stay empty."""

UNKNOWN_LOCATION = "---"


@dataclass
class TopicRead:
    """What was read of one topic: enough to find every record again."""

    topic: str
    events: int = 0
    offsets: dict[int, tuple[int, int]] = field(default_factory=dict)  # partition -> first, last
    first_at: datetime | None = None
    last_at: datetime | None = None

    def add(self, event: Logged) -> None:
        self.events += 1
        low, high = self.offsets.get(event.partition, (event.offset, event.offset))
        self.offsets[event.partition] = (min(low, event.offset), max(high, event.offset))
        at = event.occurred_at
        self.first_at = at if self.first_at is None else min(self.first_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)


@dataclass
class VaccinationMonth:
    location: str
    month: Month
    requests: int = 0
    withdrawn: int = 0


@dataclass
class ResourcesReport:
    """The report's tables, and the events they come from."""

    start: date
    end: date
    until: datetime | None
    shelters: list[ShelterMonth]
    waits: list[WaitMonth]
    legal_aid: list[ProviderMonth]
    vaccination: list[VaccinationMonth]
    read: list[TopicRead]
    missing_topics: list[str] = field(default_factory=list)
    duplicates: int = 0
    unmatched_reports: int = 0
    clock_scale: float = 1.0
    origin: datetime | None = None

    def locations(self) -> list[str]:
        tables: list[list[Any]] = [self.shelters, self.waits, self.legal_aid, self.vaccination]
        return sorted({row.location for table in tables for row in table})


class ResourcesBuilder:
    """Feed it the report's topics in log order; `result` gives the report."""

    def __init__(
        self,
        reference: Reference,
        start: date,
        end: date,
        until: datetime | None = None,
        clock_scale: float = 1.0,
    ) -> None:
        if clock_scale <= 0:
            raise ValueError("the clock scale must be positive")
        self.reference = reference
        self.start, self.end, self.until = start, end, until
        self.clock_scale = clock_scale
        self._origin: datetime | None = None
        self.occupancy = OccupancyTracker(reference)
        self.waits = WaitTracker()
        self.legal_aid = LegalAidTracker()
        self._care: dict[str, tuple[str, datetime]] = {}  # vaccination request -> location, at
        self._care_withdrawn: set[str] = set()
        self._read: dict[str, TopicRead] = {}
        self._last: datetime | None = None

    def feed(self, event: Logged) -> None:
        """Count `event` (every topic it reads, in log order, each event once)."""
        if event.topic not in RESOURCE_TOPICS:
            return
        self._read.setdefault(event.topic, TopicRead(event.topic)).add(event)
        if self._origin is None:
            self._origin = event.occurred_at
        at = self._t(event.occurred_at)
        self._last = at if self._last is None else max(self._last, at)
        handler = getattr(self, "_" + event.topic.replace("-", "_"))
        handler(event, event.data, at)

    def _t(self, moment: datetime) -> datetime:
        """`moment` on the report's clock (itself, unless the run was compressed)."""
        if self.clock_scale == 1.0 or self._origin is None:
            return moment
        return self._origin + (moment - self._origin) * self.clock_scale

    def result(
        self, missing_topics: list[str] | None = None, duplicates: int = 0
    ) -> ResourcesReport:
        until = self._until()
        zones = self.occupancy.zones
        first, last = self.start, self.end
        return ResourcesReport(
            start=first,
            end=last,
            until=until,
            shelters=self.occupancy.months(first, last, until) if until else [],
            waits=self.waits.months(first, last, until, zones) if until else [],
            legal_aid=self.legal_aid.months(first, last, until, zones) if until else [],
            vaccination=self._vaccination(),
            read=[self._read[t] for t in RESOURCE_TOPICS if t in self._read],
            missing_topics=list(missing_topics or []),
            duplicates=duplicates,
            unmatched_reports=self.legal_aid.orphan_reports,
            clock_scale=self.clock_scale,
            origin=self._origin,
        )

    def _until(self) -> datetime | None:
        if self._last is None:
            return self.until
        return self._last if self.until is None else min(self.until, self._last)

    def _location_of(self, crossing: str | None) -> str:
        if crossing is None or crossing not in self.reference.crossing_codes:
            return UNKNOWN_LOCATION
        return self.reference.location_for_crossing(crossing).code

    def _screened(self, event: Logged, data: Any, at: datetime) -> None:
        location = self._location_of(event.envelope.crossing)
        self.occupancy.learn_zone(location, data.returned_at)

    def _capacity_updated(self, event: Logged, data: Any, at: datetime) -> None:
        effective = self._t(data.effective_at)
        self.occupancy.capacity(data.shelter_id, data.location, data.beds, effective, at)

    def _shelter_departed(self, event: Logged, data: Any, at: datetime) -> None:
        self.occupancy.released(data.group_id, at, data.shelter_id)

    def _placement_withdrawn(self, event: Logged, data: Any, at: datetime) -> None:
        if data.placed_event_id is not None:
            self.occupancy.released(data.group_id, at)
        self.waits.withdrawn(data.group_id, data.reason, at)

    def _placement_deferred(self, event: Logged, data: Any, at: datetime) -> None:
        since = self._t(data.deferred_since)
        self.waits.deferred(data.group_id, data.location, data.reason, since, len(data.members))

    def _placed(self, event: Logged, data: Any, at: datetime) -> None:
        self.occupancy.learn_zone(data.location, data.returned_at)
        self.occupancy.placed(data.group_id, data.location, data.shelter_id, data.beds, at)
        self.waits.placed(data.group_id, at)

    def _legal_aid_requested(self, event: Logged, data: Any, at: datetime) -> None:
        location = data.location or self._location_of(event.envelope.crossing)
        due_by = None if data.due_by is None else self._t(data.due_by)
        self.legal_aid.requested(event.event_id, data, location, at, due_by)

    def _legal_aid_updated(self, event: Logged, data: Any, at: datetime) -> None:
        self.legal_aid.reported(data.request_event_id, data.status, self._t(data.status_at))

    def _care_requested(self, event: Logged, data: Any, at: datetime) -> None:
        if data.kind == "covid_vaccination":
            self._care.setdefault(event.event_id, (data.location, at))

    def _request_updated(self, event: Logged, data: Any, at: datetime) -> None:
        if data.change != "withdrawn":
            return
        if data.request_type == "care-requested":
            self._care_withdrawn.add(data.request_event_id)
        else:
            self.legal_aid.withdrawn(data.request_event_id, data.reason, at)

    def _vaccination(self) -> list[VaccinationMonth]:
        found: dict[tuple[str, Month], VaccinationMonth] = {}
        for event_id, (location, at) in self._care.items():
            day = at.astimezone(self.occupancy.zone(location)).date()
            if not self.start <= day <= self.end:
                continue
            key = (location, month_of(day))
            row = found.get(key)
            if row is None:
                row = found[key] = VaccinationMonth(*key)
            row.requests += 1
            row.withdrawn += event_id in self._care_withdrawn
        return [found[key] for key in sorted(found)]
