"""Realistic people for synthetic histories: crossings, nationalities, languages, ages.

Drawn from one `random.Random`, so a seed gives the same people every time. `Gathering`
keeps one group's arrivals as screening gathers them, and decides it as screening does.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from schemas.decisions import GatherWindow, Screened, WindowClosedBy
from schemas.envelope import Envelope, make_envelope
from schemas.person import Declared, PersonReturned, person_returned_event_id
from services.screening.grouping import (
    DecisionTaken,
    chained_decision,
    counting_records,
    gather_window,
)
from services.screening.ruleset import RuleSet

CROSSINGS = (("ELP", 30), ("SAN", 25), ("BRO", 12), ("CXL", 10), ("LRD", 8), ("OLS", 8), ("EGP", 7))
UTC_OFFSET_HOURS = {"SAN": -8, "CXL": -8, "OLS": -7, "ELP": -7, "EGP": -6, "LRD": -6, "BRO": -6}
NATIONALITIES = (
    ("HND", 30),
    ("GTM", 25),
    ("SLV", 12),
    ("NIC", 10),
    ("VEN", 8),
    ("CUB", 8),
    ("MEX", 2),
)
LANGUAGES = ((("spa",), 85), (("mam", "spa"), 5), (("mam",), 4), (("quc",), 3), (("kjb",), 3))
DECLARATIONS = (
    ("pregnant", 0.03),
    ("physical_illness", 0.03),
    ("mental_illness", 0.02),
    ("disability", 0.02),
    ("lgbti", 0.02),
    ("fear_of_return_to_mexico", 0.05),
    ("travelling_without_parent_or_guardian", 0.0),
)


def weighted(rng: random.Random, table: tuple[tuple[Any, int], ...]) -> Any:
    """One value of `table`, drawn by its weight."""
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights=weights)[0]


@dataclass(frozen=True)
class _Group:
    """What the members of one group share."""

    crossing: str
    local: datetime
    size: int
    nationality: str
    languages: tuple[str, ...]
    group_id: str
    hearing: dict[str, str] | None


def people(
    rng: random.Random, older_share: float, number: int, crossing: str, moment: datetime
) -> list[PersonReturned]:
    """The `person-returned` records of group `number`, returned at `crossing` at `moment`.

    The group shares nationality, languages and hearing; its head is an older person
    with probability `older_share`.
    """
    zone = timezone(timedelta(hours=UTC_OFFSET_HOURS[crossing]))
    local = moment.astimezone(zone).replace(microsecond=0)
    size = weighted(rng, ((1, 45), (2, 20), (3, 20), (4, 10), (5, 5)))
    nationality = weighted(rng, NATIONALITIES)
    languages = weighted(rng, LANGUAGES) if nationality == "GTM" else ("spa",)
    hearing = None
    if rng.random() < 0.7:
        when = local + timedelta(days=rng.randint(5, 60), hours=rng.randint(0, 6))
        hearing = {"court": f"EOIR {crossing}", "scheduled_at": when.isoformat()}
    group = _Group(
        crossing, local, size, nationality, languages, f"G-{local.year}-{number + 1:06d}", hearing
    )
    return [_person(rng, group, number, index, older_share) for index in range(size)]


def _person(
    rng: random.Random, group: _Group, number: int, index: int, older_share: float
) -> PersonReturned:
    case_id = f"A2{number:06d}{index:02d}"
    age = _age(rng, older_share, index)
    source = f"cbp-{group.crossing.lower()}"
    person = {
        "given_names": rng.choice(("María José", "Juan", "Ana", "Luis", "Rosa", "Carlos")),
        "family_names": rng.choice(("López Pérez", "García", "Hernández", "Ramírez")),
        "date_of_birth": _born(group.local.date(), age, rng),
        "sex": rng.choice(("F", "M")),
        "nationality": group.nationality,
        "languages": list(group.languages),
        "role_in_group": "head" if index == 0 else rng.choice(("partner", "child", "relative")),
    }
    record = {
        "submission_id": f"{source}-{case_id}",
        "source": source,
        "case_id": case_id,
        "group_id": group.group_id if group.size > 1 else case_id,
        "group_size": group.size,
        "crossing": group.crossing,
        "returned_at": group.local + timedelta(seconds=index * 2),
        "person": person,
        "declared": {name: rng.random() < p for name, p in DECLARATIONS},
        "covid_vaccination": {"doses": rng.choice((0, 1, 2, 2, 3)), "last_dose_on": None},
        "hearing": group.hearing,
    }
    return PersonReturned.model_validate(record, strict=False)


def corrected(record: PersonReturned) -> PersonReturned:
    """A correction of `record` (a new submission naming it): its declarations, all false.

    As when an officer finds the declarations were entered against the wrong person.
    """
    declared = Declared(**dict.fromkeys(record.declared.model_dump(), False))
    update = {
        "submission_id": f"{record.submission_id}-c1",
        "corrects": record.submission_id,
        "declared": declared,
    }
    return PersonReturned.model_validate({**record.model_dump(), **update}, strict=False)


def _age(rng: random.Random, older_share: float, index: int) -> int:
    if index == 0 and rng.random() < older_share:
        return rng.randint(58, 68)
    return rng.randint(19, 50) if index < 2 else rng.randint(1, 17)


def _born(on: date, age: int, rng: random.Random) -> date:
    return on - timedelta(days=age * 365 + rng.randint(10, 350))


@dataclass
class Gathering:
    """One group as screening sees it: every record that arrived, and its live decision.

    Which records count, the window and the decision are screening's own
    (`services.screening.grouping`), so a history decides as the service would.
    """

    crossing: str
    size: int
    records: list[Envelope[PersonReturned]] = field(default_factory=list)
    window: GatherWindow | None = None
    live: Envelope[Screened] | None = None
    decided: DecisionTaken | None = None

    def arrive(self, record: PersonReturned, now: datetime) -> Envelope[PersonReturned]:
        """The record as intake publishes it, arriving `now`."""
        envelope = make_envelope(
            record,
            event_id=person_returned_event_id(record.source, record.submission_id),
            producer="intake/0.1.0",
            correlation_id=record.group_id,
            causation_id=None,
            crossing=self.crossing,
            occurred_at=now,
        )
        self.records.append(envelope)
        return envelope

    def current(self) -> list[Envelope[PersonReturned]]:
        """Each case's current record: a correction replaces the record it names."""
        return counting_records(self.records, _facts)

    def complete(self) -> bool:
        return len({r.data.case_id for r in self.records}) >= self.size

    def close(self, now: datetime, closed_by: WindowClosedBy, minutes: float) -> None:
        opened_at = self.records[0].occurred_at
        complete = closed_by == "complete"
        self.window = gather_window(opened_at, timedelta(minutes=minutes), now, complete)

    def decide(self, rules: RuleSet, now: datetime) -> Envelope[Screened]:
        """Decide the whole group over its current records, superseding the live decision."""
        assert self.window is not None, "a group is decided once its window closed"
        self.live, self.decided = chained_decision(
            self.current(),
            rules,
            self.window,
            self.decided,
            producer="screening/0.1.0",
            crossing=self.crossing,
            occurred_at=now,
        )
        return self.live


def _facts(record: Envelope[PersonReturned]) -> tuple[str, str, datetime, str | None]:
    corrects = record.data.corrects
    replaced = person_returned_event_id(record.data.source, corrects) if corrects else None
    return record.event_id, record.data.case_id, record.occurred_at, replaced
