"""Per-person and per-group traits drawn from a profile: birth dates, doses, hearings."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from typing import Any

from services.simulator.profile import CovidProfile, DeclaredProfile, HearingProfile
from services.simulator.tables import Weighted


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February becomes the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def date_of_birth(rng: random.Random, age: int, on: date) -> date:
    """A birth date that makes the person exactly ``age`` on ``on``."""
    latest = years_before(on, age)
    earliest = years_before(on, age + 1) + timedelta(days=1)
    return earliest + timedelta(days=rng.randint(0, (latest - earliest).days))


def covid_vaccination(
    rng: random.Random, age: int, on: date, covid: CovidProfile, doses: Weighted[int]
) -> dict[str, Any]:
    """Doses and the last dose's date, within the year before ``on``."""
    count = 0 if age < covid.min_age else doses.draw(rng)
    earliest = max(covid.earliest_dose, on - timedelta(days=365))
    latest = on - timedelta(days=1)
    if count == 0 or earliest > latest:
        return {"doses": 0, "last_dose_on": None}
    last = earliest + timedelta(days=rng.randint(0, (latest - earliest).days))
    return {"doses": count, "last_dose_on": last.isoformat()}


def hearing(
    rng: random.Random, returned_at: datetime, court: str, profile: HearingProfile
) -> dict[str, Any] | None:
    """A hearing at ``court`` on a weekday morning or afternoon, or None when unknown."""
    if rng.random() < profile.unknown:
        return None
    if rng.random() < profile.within_14_days:
        days = rng.randint(1, 12)  # a weekend moves it at most two days, still within 14
    else:
        days = rng.randint(profile.min_days, profile.max_days - 2)
    day = returned_at.date() + timedelta(days=days)
    if day.weekday() >= 5:
        day += timedelta(days=7 - day.weekday())
    slot = rng.randint(0, 15)  # 08:00 to 15:30, every half hour
    at = datetime.combine(day, time(8 + slot // 2, 30 * (slot % 2)), tzinfo=returned_at.tzinfo)
    return {"court": court, "scheduled_at": at.isoformat()}


def declared(
    rng: random.Random,
    *,
    age: int,
    sex: str,
    fear: bool,
    unaccompanied: bool,
    profile: DeclaredProfile,
) -> dict[str, bool]:
    """What one person declares; ``fear`` is decided for the group by the caller."""
    adult = age >= 18
    return {
        "pregnant": sex == "F" and 18 <= age <= 44 and rng.random() < profile.pregnant,
        "physical_illness": rng.random() < profile.physical_illness,
        "mental_illness": age >= 12 and rng.random() < profile.mental_illness,
        "disability": rng.random() < profile.disability,
        "lgbti": adult and rng.random() < profile.lgbti,
        "fear_of_return_to_mexico": fear,
        "travelling_without_parent_or_guardian": unaccompanied,
    }
