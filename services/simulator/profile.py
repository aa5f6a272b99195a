"""The simulator's profile: every rate it draws from, read from TOML and checked.

``profiles/default.toml`` holds the defaults and says where each figure comes from;
``load_profile(path)`` merges another file over it, table by table.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from services.reference import is_iso3166_alpha3, is_known_language
from services.simulator.schedule import ScheduleError, parse_duration

DEFAULT_PROFILE = Path(__file__).with_name("profiles") / "default.toml"

Share = Annotated[float, Field(ge=0.0)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Sex = Literal["F", "M", "X"]


class ProfileError(ValueError):
    """A profile file is missing, not TOML, or has values out of range."""


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone") from None
    return name


def _seconds(value: object) -> object:
    """A duration as seconds: a number, or text such as ``"90s"``, ``"12m"``, ``"20h"``."""
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
    return value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(ge=0.0)]
SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def _source_template(template: str) -> str:
    try:
        name = template.format(crossing="elp", location="cjs")
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"{template!r} may only use {{crossing}} and {{location}}") from None
    if not SOURCE_NAME.match(name):
        raise ValueError(f"{template!r} does not make a source name (a-z, 0-9, '.', '_', '-')")
    return template


def _language(code: str) -> str:
    if not is_known_language(code):
        raise ValueError(f"{code!r} is not an ISO 639-3 language code")
    return code


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CrossingProfile(_Model):
    """A crossing's share of the total rate, its time zone and its court."""

    weight: Share
    timezone: Annotated[str, AfterValidator(_zone)]
    court: str = Field(min_length=1)


class LanguageOption(_Model):
    """A combination of languages (preferred first) and its share."""

    codes: tuple[Annotated[str, AfterValidator(_language)], ...] = Field(min_length=1)
    share: Share


class NationalityProfile(_Model):
    """A nationality's share, its name lists and its language combinations."""

    share: Share
    names: Literal["spanish", "haitian"] = "spanish"
    languages: tuple[LanguageOption, ...] = Field(min_length=1)


class GroupsProfile(_Model):
    """Group sizes and who makes up a family."""

    size: dict[Annotated[int, Field(ge=1, le=30)], Share]
    partner: Probability
    relative: Probability
    other: Probability
    incomplete: Probability
    lone_group_id_is_case_id: Probability
    unaccompanied_minor: Probability


class AgeBand(_Model):
    """Ages ``min`` to ``max`` (inclusive), drawn with ``share``."""

    min: int = Field(ge=0, le=110)
    max: int = Field(ge=0, le=110)
    share: Share

    @model_validator(mode="after")
    def _ordered(self) -> AgeBand:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class PeopleProfile(_Model):
    """Sex and age of lone adults and of family heads."""

    lone_adult_sex: dict[Sex, Share]
    family_head_sex: dict[Sex, Share]
    lone_adult_age: tuple[AgeBand, ...] = Field(min_length=1)
    family_head_age: tuple[AgeBand, ...] = Field(min_length=1)
    relative_is_older_parent: Probability


class DeclaredProfile(_Model):
    """How often each declaration is made (see the TOML for whom)."""

    pregnant: Probability
    physical_illness: Probability
    mental_illness: Probability
    disability: Probability
    lgbti: Probability
    fear_of_return: Probability
    fear_shared: Probability


class CovidProfile(_Model):
    """Doses and when the last one was given."""

    doses: dict[Annotated[int, Field(ge=0, le=10)], Share]
    min_age: int = Field(ge=0)
    earliest_dose: date


class HearingProfile(_Model):
    """How far out hearings are, and how often unknown."""

    unknown: Probability
    within_14_days: Probability
    min_days: int = Field(ge=15)
    max_days: int = Field(ge=15)


class DeparturesProfile(_Model):
    """Which share of sent groups leave a shelter, and after how long."""

    share: Probability
    delay_seconds: tuple[float, float]


class ScriptedStatus(_Model):
    """A status change at a fraction ``at`` of the run (0 = start, 1 = end)."""

    at: Probability
    location: str = Field(pattern=r"^[A-Z]{3}$")
    security_level: Literal["normal", "elevated", "suspended"]
    daily_cap: int = Field(ge=0)
    note: str | None = None


class InmProfile(_Model):
    """The INM and shelter side: event rate, caps, beds, departures, script."""

    events_per_minute: Share
    capacity_share: Probability
    daily_cap: tuple[int, int]
    elevated_share: Probability
    bed_factor: tuple[float, float]
    departures: DeparturesProfile
    script: tuple[ScriptedStatus, ...] = ()


class DelayBand(_Model):
    """Submissions by ``source``, ``min`` to ``max`` seconds after the return, with ``share``."""

    source: str
    share: Share
    min: Seconds
    max: Seconds

    @model_validator(mode="after")
    def _ordered(self) -> DelayBand:
        if self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class TimingProfile(_Model):
    """How late records are submitted and how a family's members are spread."""

    delays: str = Field(min_length=1)
    spread_share: Probability
    member_spread: tuple[Seconds, Seconds]
    shuffle_members: bool = True


class Profile(_Model):
    """Every rate the simulator draws from (see ``profiles/default.toml``)."""

    crossings: dict[Annotated[str, Field(pattern=r"^[A-Z]{3}$")], CrossingProfile]
    nationalities: dict[str, NationalityProfile]
    groups: GroupsProfile
    people: PeopleProfile
    declared: DeclaredProfile
    covid: CovidProfile
    hearing: HearingProfile
    inm: InmProfile
    sources: dict[str, Annotated[str, AfterValidator(_source_template)]]
    delays: dict[str, tuple[DelayBand, ...]]
    timing: TimingProfile

    @model_validator(mode="after")
    def _consistent(self) -> Profile:
        unknown = [code for code in self.nationalities if not is_iso3166_alpha3(code)]
        if unknown:
            raise ValueError(f"not ISO 3166-1 alpha-3 nationalities: {unknown}")
        if self.hearing.min_days > self.hearing.max_days:
            raise ValueError("hearing.min_days must not exceed hearing.max_days")
        for name, table in (
            ("crossings", {k: v.weight for k, v in self.crossings.items()}),
            ("nationalities", {k: v.share for k, v in self.nationalities.items()}),
            ("groups.size", self.groups.size),
            ("covid.doses", self.covid.doses),
        ):
            if not table or sum(table.values()) <= 0:
                raise ValueError(f"{name} needs at least one positive share")
        self._check_timing()
        return self

    def _check_timing(self) -> None:
        if self.timing.delays not in self.delays:
            raise ValueError(f"timing.delays: no [[delays.{self.timing.delays}]] bands")
        low, high = self.timing.member_spread
        if low > high:
            raise ValueError("timing.member_spread: the first must not exceed the second")
        for name, bands in self.delays.items():
            if sum(band.share for band in bands) <= 0:
                raise ValueError(f"delays.{name} needs at least one positive share")
            unknown = sorted({band.source for band in bands} - set(self.sources))
            if unknown:
                raise ValueError(f"delays.{name}: sources {unknown} are not in [sources]")


def load_profile(path: Path | None = None) -> Profile:
    """The default profile, with the tables of the TOML file at ``path`` merged over it.

    Raises :class:`ProfileError` naming the file and every bad value.
    """
    document = _read(DEFAULT_PROFILE)
    if path is not None:
        document = merged(document, _read(path))
    try:
        return Profile.model_validate(document)
    except ValidationError as exc:
        where = path or DEFAULT_PROFILE
        lines = [
            f"- {'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise ProfileError(f"profile {where} has problems:\n" + "\n".join(lines)) from None


def merged(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` over ``base``: tables merge key by key, anything else is replaced."""
    result = dict(base)
    for key, value in override.items():
        current = result.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            result[key] = merged(current, value)
        else:
            result[key] = value
    return result


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ProfileError(f"cannot read profile {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"profile {path} is not valid TOML: {exc}") from None
