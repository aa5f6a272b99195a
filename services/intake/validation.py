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
# A real record is a few KiB; 64 KiB is the contract's limit on both channels.
MAX_SUBMISSION_BYTES = 64 * 1024


@dataclass(frozen=True)
class Accepted:
    record: PersonReturned


# The codes of a body that is no JSON document at all: nothing in it can be read.
MALFORMED = frozenset({"not_utf8", "json_invalid", "too_deeply_nested", "number_out_of_range"})

# pydantic reports these as ``json_invalid``; their own codes tell the sender what to fix.
_JSON_PROBLEMS = {
    "recursion limit exceeded": FieldError(
        None, "too_deeply_nested", "arrays and objects are nested too deeply"
    ),
    "number out of range": FieldError(
        None, "number_out_of_range", "holds a number too large to be read"
    ),
}


@dataclass(frozen=True)
class Rejected:
    problems: list[FieldError]
    source: str | None = None
    submission_id: str | None = None

    @property
    def malformed(self) -> bool:
        """The body is no readable JSON document (over HTTP: a 400, not a 422)."""
        return any(p.code in MALFORMED for p in self.problems)


def validate_submission(raw: bytes, reference: Reference, now: datetime) -> Accepted | Rejected:
    """Judge one submission; a rejection lists every problem found, not just the first."""
    if not _is_utf8(raw):
        return Rejected([FieldError(None, "not_utf8", "the body is not UTF-8 text")])
    try:
        record = _decode(raw)
    except EventValidationError as exc:
        if any(e.code == "json_invalid" for e in exc.errors):
            return Rejected([_json_problem(e) for e in exc.errors])
        document = _document(raw)
        problems = exc.errors + _crossing_problem(document, reference, exc.errors)
        return Rejected(problems, _text(document, "source"), _text(document, "submission_id"))
    problems = business_problems(record, reference, now)
    if problems:
        return Rejected(problems, record.source, record.submission_id)
    return Accepted(record)


def too_large(limit: int) -> FieldError:
    return FieldError(None, "body_too_large", f"body exceeds {limit} bytes")


def business_problems(
    record: PersonReturned, reference: Reference, now: datetime
) -> list[FieldError]:
    """Rules beyond the schema: designated crossing, plausible dates, known codes.

    Whether a correction keeps the identity of the submission it corrects needs what
    intake accepted before, so ``handling`` judges that, not this pure function.
    """
    problems = []
    if record.crossing not in reference.crossing_codes:
        problems.append(_not_designated(record.crossing, reference))
    if record.corrects == record.submission_id:
        problems.append(
            FieldError(
                "corrects",
                "correction_of_itself",
                "names this record's own submission_id; a correction needs a new "
                "submission_id and `corrects` set to the one it replaces",
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


def _not_designated(crossing: str, reference: Reference) -> FieldError:
    designated = ", ".join(sorted(reference.crossing_codes))
    return FieldError(
        "crossing",
        "crossing_not_designated",
        f"{crossing} is not a designated crossing (designated: {designated})",
    )


def _crossing_problem(
    document: dict[str, object], reference: Reference, schema_errors: list[FieldError]
) -> list[FieldError]:
    """An undesignated crossing is reported even when other fields broke the schema."""
    crossing = document.get("crossing")
    if any(e.field == "crossing" for e in schema_errors) or not isinstance(crossing, str):
        return []
    return [] if crossing in reference.crossing_codes else [_not_designated(crossing, reference)]


def _decode(raw: bytes) -> PersonReturned:
    """The schema's judgement, reading ``3.0`` as the integer it is.

    JSON has one number type: ``3.0`` and ``3`` are the same integer (JSON Schema says
    so too), but pydantic's strict mode, which keeps ``"3"`` out, refuses the first.
    Only when an integer field failed are whole numbers respelt and the record judged
    again; anything else, a string for a number included, still fails.
    """
    try:
        return decode_data(raw, PersonReturned)
    except EventValidationError as exc:
        if not any(e.code == "int_type" for e in exc.errors):
            raise
        respelt = _whole_numbers_as_integers(raw)
        if respelt is None:
            raise
        return decode_data(respelt, PersonReturned)


def _whole_numbers_as_integers(raw: bytes) -> bytes | None:
    try:
        document = json.loads(raw, parse_float=_integer_if_whole)
    except (ValueError, RecursionError):
        return None
    return json.dumps(document, ensure_ascii=False).encode()


def _integer_if_whole(text: str) -> float | int:
    number = float(text)
    # Beyond 2**53 a float no longer names one integer: leave it for the schema to refuse.
    return int(number) if number.is_integer() and abs(number) <= 2**53 else number


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _json_problem(error: FieldError) -> FieldError:
    if error.code != "json_invalid":
        return error
    return next((p for text, p in _JSON_PROBLEMS.items() if text in error.message), error)


def _document(raw: bytes) -> dict[str, object]:
    """The submission as JSON, to name its source and crossing in a rejection.

    Called only on bytes pydantic parsed as JSON, whose nesting it already bounded;
    the guard against ``RecursionError`` is for what the two parsers judge differently.
    """
    try:
        document = json.loads(raw)
    except (ValueError, RecursionError):
        return {}
    return document if isinstance(document, dict) else {}


def _text(document: dict[str, object], key: str) -> str | None:
    value = document.get(key)
    return value if isinstance(value, str) else None
