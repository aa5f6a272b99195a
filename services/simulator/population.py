"""Realistic returns, generated from a seed and a profile: pure, no I/O, no clock.

A group (a family, or a person alone) is drawn whole: its members share
``group_id``, ``group_size``, crossing, nationality and languages, one hearing, and
``returned_at`` within a minute of each other. Each crossing has its own random
stream, so what one crossing generates does not depend on how often another one is
asked: a paced run and :func:`generate` with the same seed draw the same groups.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from services.simulator import names, traits
from services.simulator.profile import Profile, load_profile
from services.simulator.tables import Tables, Weighted, draw_age

DEFAULT_START = datetime(2022, 3, 1, 15, 0, tzinfo=UTC)
"""Event time of the first record of :func:`generate` unless told otherwise."""


@dataclass(frozen=True)
class Member:
    """One member of a group to be drawn: role, age on the day of return, sex."""

    role: str
    age: int
    sex: str


@dataclass(frozen=True)
class _Group:
    """What every member of one group shares."""

    crossing: str
    source: str
    local: datetime
    group_size: int
    nationality: str
    style: names.NameStyle
    languages: list[str]
    hearing: dict[str, Any] | None
    fear: bool
    group_id: str


@dataclass
class _Stream:
    """One crossing's random stream and counters."""

    rng: random.Random
    case_offset: int
    cases: int = 0
    groups: int = 0


def run_tag(seed: int, start: datetime) -> str:
    """Six hex digits naming a run, so that ids of different runs never collide."""
    text = f"{seed}|{start.astimezone(UTC).isoformat()}"
    return hashlib.sha256(text.encode()).hexdigest()[:6]


@dataclass
class Population:
    """Draws groups of returned people, one seeded stream per crossing.

    ``tag`` goes into submission and group ids (see :func:`run_tag`).
    """

    seed: int
    profile: Profile
    tag: str
    tables: Tables = field(init=False)
    _streams: dict[str, _Stream] = field(init=False, default_factory=dict)
    _digits: dict[str, int] = field(init=False, default_factory=dict)
    _submissions: dict[str, int] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.tables = Tables.of(self.profile)
        self._digits = {code: i % 10 for i, code in enumerate(sorted(self.profile.crossings))}

    def group(
        self,
        crossing: str,
        at: datetime,
        max_members: int | None = None,
        source: str | None = None,
        numbered: bool = True,
    ) -> list[dict[str, Any]]:
        """The submissions of one group returned at ``crossing`` at ``at``.

        ``max_members`` caps the group's size. A family may lack one member (the
        profile's ``groups.incomplete``): then it has ``group_size - 1`` records.
        ``source`` submits them (default ``cbp-<crossing>``), each with the next
        submission_id of that source's own sequence; with ``numbered`` false it is
        None until :meth:`number` gives it (a paced run numbers records as it sends).
        """
        stream = self._stream(crossing)
        rng = stream.rng
        local = at.astimezone(ZoneInfo(self.profile.crossings[crossing].timezone))
        members = self._composition(rng, max_members)
        size = len(members)
        if size > 1 and rng.random() < self.profile.groups.incomplete:
            members = members[:-1]
        source = source or f"cbp-{crossing.lower()}"
        records = self._records(
            stream, (crossing, source), local.replace(microsecond=0), members, size
        )
        if numbered:
            for record in records:
                self.number(record)
        return records

    def number(self, record: dict[str, Any]) -> None:
        """Give ``record`` the next submission_id of its source's own sequence."""
        source, day = record["source"], record["returned_at"][:10]
        count = self._submissions[source] = self._submissions.get(source, 0) + 1
        record["submission_id"] = f"{source}-{day}-{self.tag}-{count:06d}"

    def _stream(self, crossing: str) -> _Stream:
        if crossing not in self._streams:
            rng = random.Random(f"{self.seed}:{crossing}")  # noqa: S311 (simulated data)
            self._streams[crossing] = _Stream(rng, case_offset=rng.randrange(10**7))
        return self._streams[crossing]

    def _composition(self, rng: random.Random, max_members: int | None) -> list[Member]:
        groups = self.profile.groups
        if rng.random() < groups.unaccompanied_minor:
            return [Member("head", rng.randint(14, 17), rng.choice("FM"))]
        size = self.tables.group_size.draw(rng)
        if max_members is not None:
            size = max(1, min(size, max_members))
        if size == 1:
            sex = self.tables.lone_sex.draw(rng)
            return [Member("head", draw_age(rng, self.tables.lone_age), sex)]
        return self._family(rng, size)

    def _family(self, rng: random.Random, size: int) -> list[Member]:
        groups, people = self.profile.groups, self.profile.people
        head_age = draw_age(rng, self.tables.head_age)
        head = Member("head", head_age, self.tables.head_sex.draw(rng))
        members = [head]
        if rng.random() < groups.partner:
            sex = {"F": "M", "M": "F"}.get(head.sex) or rng.choice("FM")
            members.append(Member("partner", max(18, head_age + rng.randint(-6, 6)), sex))
        while len(members) < size:
            roll = rng.random()
            if roll < groups.relative:
                older = rng.random() < people.relative_is_older_parent
                low = max(55, head_age + 16) if older else 18
                age = rng.randint(min(low, 80), 80) if older else rng.randint(low, 45)
                members.append(Member("relative", age, rng.choice("FM")))
            elif roll < groups.relative + groups.other:
                members.append(Member("other", rng.randint(18, 45), rng.choice("FM")))
            else:
                age = rng.randint(0, max(0, min(17, head_age - 16)))
                members.append(Member("child", age, rng.choice("FM")))
        return members

    def _records(
        self,
        stream: _Stream,
        where: tuple[str, str],
        local: datetime,
        members: Sequence[Member],
        group_size: int,
    ) -> list[dict[str, Any]]:
        rng, profile = stream.rng, self.profile
        crossing, source = where
        nationality = self.tables.nationality.draw(rng)
        style = profile.nationalities[nationality].names
        cases = [self._case_id(stream, crossing) for _ in members]
        group = _Group(
            crossing=crossing,
            source=source,
            local=local,
            group_size=group_size,
            nationality=nationality,
            style=style,
            languages=list(self.tables.languages[nationality].draw(rng)),
            hearing=traits.hearing(rng, local, profile.crossings[crossing].court, profile.hearing),
            fear=rng.random() < profile.declared.fear_of_return,
            group_id=self._group_id(stream, crossing, local, cases),
        )
        surnames = _surnames(rng, members, style)
        return [
            self._member(stream, group, member, case_id, surname, first=index == 0)
            for index, (member, case_id, surname) in enumerate(
                zip(members, cases, surnames, strict=True)
            )
        ]

    def _member(
        self,
        stream: _Stream,
        group: _Group,
        member: Member,
        case_id: str,
        surname: str,
        first: bool,
    ) -> dict[str, Any]:
        rng, profile = stream.rng, self.profile
        returned_at = group.local + timedelta(seconds=0 if first else rng.randint(0, 60))
        on = group.local.date()
        fear = group.fear and member.age >= 18
        fear = fear and (first or rng.random() < profile.declared.fear_shared)
        return {
            "submission_id": None,
            "source": group.source,
            "case_id": case_id,
            "group_id": group.group_id,
            "group_size": group.group_size,
            "crossing": group.crossing,
            "returned_at": returned_at.isoformat(),
            "person": _person(rng, group, member, surname),
            "declared": traits.declared(
                rng,
                age=member.age,
                sex=member.sex,
                fear=fear,
                unaccompanied=member.age < 18 and member.role == "head",
                profile=profile.declared,
            ),
            "covid_vaccination": traits.covid_vaccination(
                rng, member.age, on, profile.covid, self.tables.doses
            ),
            "hearing": dict(group.hearing) if group.hearing else None,
        }

    def _case_id(self, stream: _Stream, crossing: str) -> str:
        # "A2", one digit for the crossing, seven from a seeded offset: unique per run.
        digit = self._digits[crossing]
        stream.cases += 1
        return f"A2{digit}{(stream.case_offset + stream.cases) % 10**7:07d}"

    def _group_id(
        self, stream: _Stream, crossing: str, local: datetime, cases: Sequence[str]
    ) -> str:
        stream.groups += 1
        alone = len(cases) == 1
        if alone and stream.rng.random() < self.profile.groups.lone_group_id_is_case_id:
            return cases[0]
        return f"G-{local.year}-{crossing}-{self.tag}-{stream.groups:06d}"


def _person(rng: random.Random, group: _Group, member: Member, surname: str) -> dict[str, Any]:
    born = traits.date_of_birth(rng, member.age, group.local.date())
    return {
        "given_names": names.given_names(rng, member.sex, group.style),
        "family_names": surname,
        "date_of_birth": born.isoformat(),
        "sex": member.sex,
        "nationality": group.nationality,
        "languages": list(group.languages),
        "role_in_group": member.role,
    }


def _surnames(rng: random.Random, members: Sequence[Member], style: names.NameStyle) -> list[str]:
    head = names.family_names(rng, style)
    partner = names.family_names(rng, style) if any(m.role == "partner" for m in members) else None
    father, mother = (head, partner) if members[0].sex != "F" else (partner, head)
    child = names.child_family_names(father, mother, style)
    by_role = {"head": head, "partner": partner or head, "child": child}
    return [by_role.get(member.role) or names.family_names(rng, style) for member in members]


def generate(
    seed: int,
    n: int,
    crossings: Sequence[str] | None = None,
    profile: Profile | None = None,
    *,
    start: datetime = DEFAULT_START,
    rate: float = 1.0,
) -> Iterator[dict[str, Any]]:
    """``n`` submissions (dicts in the contract's form), the same for the same arguments.

    Crossings are drawn by the profile's weights (only among ``crossings`` when
    given); ``returned_at`` advances from ``start`` at ``rate`` returns per second of
    event time. Whole groups are yielded; the last one is cut to fit ``n``.
    """
    profile = profile or load_profile()
    codes = tuple(crossings or profile.crossings)
    chooser = Weighted.of({code: profile.crossings[code].weight for code in codes})
    population = Population(seed, profile, run_tag(seed, start))
    rng = random.Random(f"{seed}:crossings")  # noqa: S311 (simulated data)
    made = 0
    while made < n:
        at = start + timedelta(seconds=made / rate)
        group = population.group(chooser.draw(rng), at, max_members=n - made)
        made += len(group)
        yield from group
