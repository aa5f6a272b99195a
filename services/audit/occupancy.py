"""Shelter occupancy replayed from the log: stays, bed-nights, and peaks against beds. Pure.

A stay starts at a `placed` event (its beds at its shelter) and ends at the
`placement-withdrawn` that releases it, at the group's `shelter-departed` from that
shelter, or at a later `placed` of the group (a group has one live placement). Times
are the events' `occurred_at`, read in the location's local time (the UTC offset of
the group's `returned_at`, as placement counts its days).

A bed-night is one bed held at local midnight: a stay from 18:00 on the 1st to 09:00
on the 3rd of three beds counts 2 nights x 3 beds = 6, on the nights of the 1st and
the 2nd. Beds come from the reference data, then `capacity-updated` (an update older
than the one in force is ignored, as placement ignores it). Peak occupancy is the most
beds held at once in a month, with the beds in force at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from services.reference import Reference

Month = str
"""A calendar month, `YYYY-MM`."""


def month_of(day: date) -> Month:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(slots=True)
class Stay:
    """One group's placement at a shelter, while it lasts."""

    group_id: str
    shelter_id: str
    location: str
    beds: int
    start: datetime
    end: datetime | None = None


@dataclass
class ShelterMonth:
    """One shelter in one month: bed-nights, and its peak against the beds then."""

    location: str
    shelter_id: str
    month: Month
    bed_nights: int = 0
    peak_occupied: int = 0
    beds_at_peak: int = 0
    peak_at: datetime | None = None

    @property
    def peak_share(self) -> float | None:
        """Peak occupancy as a share of the beds in force then (None without beds)."""
        return self.peak_occupied / self.beds_at_peak if self.beds_at_peak else None


@dataclass
class _Shelter:
    location: str
    beds: int
    beds_since: datetime | None = None
    occupied: int = 0
    changes: list[tuple[datetime, int, int]] = field(default_factory=list)  # (at, held, beds)


class OccupancyTracker:
    """Feed it placements, withdrawals, departures and bed counts in log order."""

    def __init__(self, reference: Reference) -> None:
        self._shelters = {s.id: _Shelter(s.location, s.beds) for s in reference.shelters}
        self._seeded = {s.id: s.beds for s in reference.shelters}
        self.zones: dict[str, tzinfo] = {}
        self._live: dict[str, Stay] = {}  # group -> its live stay
        self.stays: list[Stay] = []

    def zone(self, location: str) -> tzinfo:
        """The location's local offset (UTC until a group's return told it)."""
        return self.zones.get(location, UTC)

    def learn_zone(self, location: str, moment: datetime | None) -> None:
        if moment is not None and moment.tzinfo is not None:
            self.zones.setdefault(location, moment.tzinfo)

    def placed(
        self, group_id: str, location: str, shelter_id: str, beds: int, at: datetime
    ) -> None:
        self._end(group_id, at)
        stay = Stay(group_id, shelter_id, location, beds, at)
        self._live[group_id] = stay
        self.stays.append(stay)
        self._change(shelter_id, location, at, beds)

    def released(self, group_id: str, at: datetime, shelter_id: str | None = None) -> None:
        """The group's stay ends (only if at `shelter_id`, when given: a departure)."""
        stay = self._live.get(group_id)
        if stay is not None and shelter_id in (None, stay.shelter_id):
            self._end(group_id, at)

    def capacity(
        self, shelter_id: str, location: str, beds: int, effective_at: datetime, at: datetime
    ) -> None:
        """Beds in force from `effective_at`, recorded at `at` (its event's `occurred_at`)."""
        shelter = self._shelter(shelter_id, location)
        if shelter.beds_since is not None and effective_at < shelter.beds_since:
            return
        shelter.beds, shelter.beds_since = beds, effective_at
        shelter.changes.append((at, shelter.occupied, beds))

    def months(self, first: date, last: date, until: datetime) -> list[ShelterMonth]:
        """Every shelter-month of the period with a stay or a held bed, stays cut at `until`."""
        found: dict[tuple[str, Month], ShelterMonth] = {}
        for stay in self.stays:
            zone = self.zone(stay.location)
            for night in _nights(stay, until, zone):
                if first <= night <= last:
                    row = self._row(found, stay.location, stay.shelter_id, month_of(night))
                    row.bed_nights += stay.beds
        for shelter_id, shelter in self._shelters.items():
            self._peaks(found, shelter_id, shelter, first, last)
        return [found[key] for key in sorted(found, key=lambda k: (found[k].location, k[1], k[0]))]

    def _peaks(
        self,
        found: dict[tuple[str, Month], ShelterMonth],
        shelter_id: str,
        shelter: _Shelter,
        first: date,
        last: date,
    ) -> None:
        """The most beds held at once in each month, from the state at its first midnight."""
        zone = self.zone(shelter.location)
        changes = shelter.changes
        index, held, beds = 0, 0, self._seeded.get(shelter_id, 0)
        for month_start, month_end in month_bounds(first, last, zone):
            while index < len(changes) and changes[index][0] < month_start:
                _, held, beds = changes[index]
                index += 1
            candidates: list[tuple[int, int, datetime | None]] = [(held, beds, None)]
            while index < len(changes) and changes[index][0] < month_end:
                at, held, beds = changes[index]
                candidates.append((held, beds, at))
                index += 1
            peak = max(candidates, key=lambda c: c[0])  # the first moment it was reached
            if peak[0] > 0:
                month = month_of(month_start.date())
                row = self._row(found, shelter.location, shelter_id, month)
                row.peak_occupied, row.beds_at_peak, row.peak_at = peak

    def _row(
        self,
        found: dict[tuple[str, Month], ShelterMonth],
        location: str,
        shelter: str,
        month: Month,
    ) -> ShelterMonth:
        key = (shelter, month)
        if key not in found:
            found[key] = ShelterMonth(location, shelter, month)
        return found[key]

    def _end(self, group_id: str, at: datetime) -> None:
        stay = self._live.pop(group_id, None)
        if stay is not None:
            stay.end = max(at, stay.start)
            self._change(stay.shelter_id, stay.location, at, -stay.beds)

    def _change(self, shelter_id: str, location: str, at: datetime, beds: int) -> None:
        shelter = self._shelter(shelter_id, location)
        shelter.occupied += beds
        shelter.changes.append((at, shelter.occupied, shelter.beds))

    def _shelter(self, shelter_id: str, location: str) -> _Shelter:
        if shelter_id not in self._shelters:
            self._shelters[shelter_id] = _Shelter(location, 0)
        return self._shelters[shelter_id]


def _nights(stay: Stay, until: datetime, zone: tzinfo) -> list[date]:
    """The local dates whose following midnight falls strictly within the stay."""
    end = min(stay.end or until, until)
    nights = []
    day = stay.start.astimezone(zone).date()
    while (midnight := datetime.combine(day + timedelta(days=1), time(), zone)) < end:
        if midnight > stay.start:
            nights.append(day)
        day += timedelta(days=1)
    return nights


def month_bounds(first: date, last: date, zone: tzinfo) -> list[tuple[datetime, datetime]]:
    """Each month touching `first`..`last`, as local instants [start, end), cut to the period."""
    bounds = []
    day = first
    while day <= last:
        following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        end = min(following, last + timedelta(days=1))
        bounds.append((datetime.combine(day, time(), zone), datetime.combine(end, time(), zone)))
        day = following
    return bounds
