"""Intake's checks: the contract's schema, then the rules a schema cannot say.

Pure: the raw bytes, the reference data and the current time go in; an accepted
record or every reason for rejecting it comes out. The HTTP API and the
``returns-inbound`` agent call the same function, so both channels judge alike.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from schemas.codec import EventValidationError, FieldError, decode_data
from schemas.person import PersonReturned
from services.reference import Reference, is_iso3166_alpha3, is_known_language

MAX_AGE = 120
MAX_FUTURE = timedelta(days=1)


@dataclass(frozen=True)
class Accepted:
    record: PersonReturned


@dataclass(frozen=True)
class Rejected:
    problems: list[FieldError]
    source: str | None = None
    submission_id: str | None = None


def validate_submission(raw: bytes, reference: Reference, now: datetime) -> Accepted | Rejected:
    """Judge one submission; a rejection lists every problem found, not just the first."""
    try:
        record = decode_data(raw, PersonReturned)
    except EventValidationError as exc:
        source, submission_id = _identity(raw)
        return Rejected(exc.errors, source, submission_id)
    problems = business_problems(record, reference, now)
    if problems:
        return Rejected(problems, record.source, record.submission_id)
    return Accepted(record)


def business_problems(
    record: PersonReturned, reference: Reference, now: datetime
) -> list[FieldError]:
    """Rules beyond the schema: designated crossing, plausible dates, known codes."""
    problems = []
    if record.crossing not in reference.crossing_codes:
        designated = ", ".join(sorted(reference.crossing_codes))
        problems.append(
            FieldError(
                "crossing",
                "crossing_not_designated",
                f"{record.crossing} is not a designated crossing (designated: {designated})",
            )
        )
    problems += _date_problems(record, now)
    problems += [
        FieldError(f"person.languages.{i}", "unknown_language", "is not a known ISO 639-3 code")
        for i, code in enumerate(record.person.languages)
        if not is_known_language(code)
    ]
    if not is_iso3166_alpha3(record.person.nationality):
        problems.append(
            FieldError("person.nationality", "unknown_country", "not an ISO 3166-1 alpha-3 code")
        )
    return problems


def _date_problems(record: PersonReturned, now: datetime) -> list[FieldError]:
    problems = []
    if record.returned_at > now + MAX_FUTURE:
        problems.append(
            FieldError("returned_at", "returned_at_in_future", "more than a day ahead of now")
        )
    born = record.person.date_of_birth
    on = record.local_return_date
    # Messages name the rule, never the date itself: dates of birth are personal data.
    if born > now.date() or born > on:
        problems.append(FieldError("person.date_of_birth", "born_in_future", "is in the future"))
    elif _age(born, on) > MAX_AGE:
        problems.append(
            FieldError("person.date_of_birth", "implausible_age", f"gives an age over {MAX_AGE}")
        )
    return problems


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _identity(raw: bytes) -> tuple[str | None, str | None]:
    """Best-effort source and submission id of an invalid record, for the rejection."""
    try:
        document = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    source, submission_id = document.get("source"), document.get("submission_id")
    return (
        source if isinstance(source, str) else None,
        submission_id if isinstance(submission_id, str) else None,
    )
