"""The rules of :mod:`services.intake.validation`, written as JSON Schema for the API document.

A schema cannot compare a field with the clock or with another field, so the date rules
are written out for the moment the document is served: ``returned_at`` up to that
moment (less than the day ahead intake allows), and, for each year of ``returned_at``,
the dates of birth that are neither after the return nor more than 120 years before it.
Every value the document describes is one intake accepts; what it leaves out (a
return dated today at a negative offset the clock has not reached yet, returns before
2000, a child born in the same quarter as the return) is still accepted.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any

import pycountry

from services.intake.validation import MAX_AGE
from services.reference import is_iso3166_alpha3, is_known_language

_MONTH = "(?:0[1-9]|1[0-2])"
_DAY = "(?:0[1-9]|[12][0-9]|3[01])"
_TIME = r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
_MINUTES = "[0-5][0-9]"
_HOURS = "(?:[01][0-9]|2[0-3])"


@lru_cache(maxsize=1)
def country_codes() -> list[str]:
    """ISO 3166-1 alpha-3, exactly as intake checks it."""
    return sorted(c.alpha_3 for c in pycountry.countries if is_iso3166_alpha3(c.alpha_3))


@lru_cache(maxsize=1)
def language_codes() -> list[str]:
    """ISO 639-3 and the ISO 639-5 collective codes intake accepts (``nah``)."""
    candidates = {lang.alpha_3 for lang in pycountry.languages}
    candidates |= {family.alpha_3 for family in pycountry.language_families}
    return sorted(code for code in candidates if is_known_language(code))


def returned_at_pattern(now: datetime) -> str:
    """Instants no later than ``now`` whatever their offset: never after the day allowed."""
    today = now.date()
    earlier_days = _dates_before(today)
    # Today at a positive offset, or a negative one smaller than the hours gone today,
    # is at most `now` plus a day. Yesterday and before are, at any offset.
    today_text = f"{today:%Y-%m-%d}{_TIME}"
    negative = _alternatives([f"{h:02d}" for h in range(now.hour)])
    offsets_today = f"(?:Z|\\+{_HOURS}:{_MINUTES}" + (
        f"|-{negative}:{_MINUTES})" if negative else ")"
    )
    any_offset = f"(?:Z|[+-]{_HOURS}:{_MINUTES})"
    return f"^(?:{earlier_days}{_TIME}{any_offset}|{today_text}{offsets_today})$"


def birth_by_return_year(today: date) -> list[dict[str, Any]]:
    """``anyOf`` branches tying ``person.date_of_birth`` to the year of ``returned_at``.

    Each branch pairs a span of return dates with birth dates that are, for every
    return in that span, neither after it nor more than ``MAX_AGE`` years before it.
    A few branches keep the document small enough for generators to use; between them
    they cover every return since 2000 of anyone born before it, and, for the last two
    years, children born earlier in the year of their return (by quarter).
    """
    now = today.year
    recent = _alternatives([str(now - 1), str(now)])
    branches = [
        _branch(f"{recent}-", _years(now - MAX_AGE + 1, now - 2)),
        _branch(f"{now}-", _years(now - 1, now - 1)),
        _branch(_year_numbers(2000, now - 2) + "-", _years(now - 2 - MAX_AGE, 1999)),
    ]
    for year in (now - 1, now):
        for quarter in (1, 2, 3):
            returned = _alternatives([f"{m:02d}" for m in range(3 * quarter + 1, 3 * quarter + 4)])
            born = _alternatives([f"{m:02d}" for m in range(1, 3 * quarter + 1)])
            branches.append(_branch(f"{year}-{returned}-", f"{year}-{born}-{_DAY}"))
    return branches


def _years(first: int, last: int) -> str:
    """Dates (YYYY-MM-DD) in the years ``first`` to ``last``."""
    return f"{_year_numbers(first, last)}-{_MONTH}-{_DAY}"


def _year_numbers(first: int, last: int) -> str:
    return _alternatives([str(y) for y in range(first, last + 1)])


def _branch(returned: str, born: str) -> dict[str, Any]:
    return {
        "properties": {
            "returned_at": {"pattern": f"^{returned}"},
            "person": {"properties": {"date_of_birth": {"pattern": f"^{born}$"}}},
        }
    }


def _dates_before(day: date) -> str:
    """Dates from year 1900 to the day before ``day``, as one regular expression."""
    years = _year_numbers(1900, day.year - 1)
    months = _alternatives([f"{m:02d}" for m in range(1, day.month)])
    days = _alternatives([f"{d:02d}" for d in range(1, day.day)])
    parts = [f"{years}-{_MONTH}-{_DAY}"]
    if months:
        parts.append(f"{day.year}-{months}-{_DAY}")
    if days:
        parts.append(f"{day:%Y-%m}-{days}")
    return _alternatives(parts)


def _alternatives(options: list[str]) -> str:
    return f"(?:{'|'.join(options)})" if options else ""
