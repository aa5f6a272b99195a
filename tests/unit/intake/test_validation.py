"""Intake's checks beyond the schema, table-driven from the contract and the issue."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.intake.validation import Accepted, Rejected, validate_submission
from services.reference import load_reference
from tests.unit.contracts.samples import as_bytes, submission

REFERENCE = load_reference()
NOW = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)


def judge(record: dict[str, Any], now: datetime = NOW) -> Accepted | Rejected:
    return validate_submission(as_bytes(record), REFERENCE, now)


def codes(result: Accepted | Rejected) -> set[tuple[str | None, str]]:
    assert isinstance(result, Rejected), "expected a rejection"
    return {(p.field, p.code) for p in result.problems}


def test_the_contract_example_is_accepted() -> None:
    assert isinstance(judge(submission()), Accepted)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"crossing": "NYC"}, ("crossing", "crossing_not_designated"), id="undesignated-crossing"
        ),
        pytest.param(
            {"crossing": "MTY"},
            ("crossing", "crossing_not_designated"),
            id="monterrey-is-no-crossing",
        ),
        pytest.param(
            {"case_id": "A1234567"}, ("case_id", "string_pattern_mismatch"), id="case-id-7-digits"
        ),
        pytest.param(
            {"case_id": "A1234567890"},
            ("case_id", "string_pattern_mismatch"),
            id="case-id-10-digits",
        ),
        pytest.param(
            {"case_id": "212345678"}, ("case_id", "string_pattern_mismatch"), id="case-id-no-A"
        ),
        pytest.param(
            {"person__date_of_birth": "2026-12-01"},
            ("person.date_of_birth", "born_in_future"),
            id="born-in-the-future",
        ),
        pytest.param(
            {"person__date_of_birth": "1900-01-01"},
            ("person.date_of_birth", "implausible_age"),
            id="older-than-120",
        ),
        pytest.param(
            {"returned_at": "2026-11-29T06:00:00-07:00"},
            ("returned_at", "returned_at_in_future"),
            id="more-than-a-day-ahead",
        ),
        pytest.param({"group_size": 0}, ("group_size", "greater_than_equal"), id="group-of-zero"),
        pytest.param({"group_size": 31}, ("group_size", "less_than_equal"), id="group-of-31"),
        pytest.param(
            {"person__languages": ["xqz"]},
            ("person.languages.0", "unknown_language"),
            id="unknown-language",
        ),
        pytest.param(
            {"person__languages": []}, ("person.languages", "too_short"), id="no-language"
        ),
        pytest.param(
            {"person__languages": ["SPA"]},
            ("person.languages.0", "string_pattern_mismatch"),
            id="lang-case",
        ),
        pytest.param(
            {"person__nationality": "XXX"},
            ("person.nationality", "unknown_country"),
            id="unknown-country",
        ),
        pytest.param(
            {"person__nationality": "HN"},
            ("person.nationality", "string_pattern_mismatch"),
            id="alpha-2",
        ),
        pytest.param({"person__sex": "W"}, ("person.sex", "literal_error"), id="sex-not-FMX"),
        pytest.param(
            {"corrects": "cbp-elp-2026-11-27-000981"},
            ("corrects", "correction_of_itself"),
            id="correction-of-itself",
        ),
        pytest.param({"corrects": ""}, ("corrects", "string_too_short"), id="corrects-empty"),
        pytest.param(
            {"person__role_in_group": "cousin"},
            ("person.role_in_group", "literal_error"),
            id="bad-role",
        ),
    ],
)
def test_each_rule_rejects_with_its_reason(
    changes: dict[str, Any], expected: tuple[str, str]
) -> None:
    assert expected in codes(judge(submission(**changes)))


def test_a_correction_is_judged_like_any_submission() -> None:
    correction = submission(submission_id="cbp-elp-2026-11-27-000981-c1")
    correction["corrects"] = "cbp-elp-2026-11-27-000981"
    assert isinstance(judge(correction), Accepted)
    assert codes(judge(correction | {"crossing": "NYC"})) == {
        ("crossing", "crossing_not_designated")
    }


def test_age_120_is_still_plausible() -> None:
    assert isinstance(judge(submission(person__date_of_birth="1906-11-27")), Accepted)


def test_a_newborn_returned_on_the_day_of_birth_is_accepted() -> None:
    assert isinstance(judge(submission(person__date_of_birth="2026-11-27")), Accepted)


def test_returned_at_just_under_a_day_ahead_is_accepted() -> None:
    assert isinstance(judge(submission(returned_at="2026-11-28T15:59:00-07:00")), Accepted)


def test_nahuatl_collective_code_of_the_contract_is_known() -> None:
    assert isinstance(judge(submission(person__languages=["nah"])), Accepted)


def test_every_problem_is_listed_not_only_the_first() -> None:
    result = judge(
        submission(crossing="NYC", person__nationality="XXX", person__languages=["spa", "xqz"])
    )
    assert codes(result) == {
        ("crossing", "crossing_not_designated"),
        ("person.nationality", "unknown_country"),
        ("person.languages.1", "unknown_language"),
    }


def test_a_rejection_keeps_source_and_submission_id_when_readable() -> None:
    result = judge(submission(group_size=0))
    assert isinstance(result, Rejected)
    assert (result.source, result.submission_id) == ("cbp-elp", "cbp-elp-2026-11-27-000981")


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "json_invalid"),
        (b"[1, 2]", "model_type"),
        (b"\xff\xfe", "not_utf8"),
        (b"", "json_invalid"),
    ],
)
def test_malformed_bytes_are_rejected_not_raised(raw: bytes, code: str) -> None:
    result = validate_submission(raw, REFERENCE, NOW)
    assert isinstance(result, Rejected)
    assert code in {p.code for p in result.problems}


def test_messages_do_not_repeat_personal_values() -> None:
    result = judge(submission(person__languages=["xqz"], person__date_of_birth="1899-05-05"))
    assert isinstance(result, Rejected)
    text = " ".join(p.message for p in result.problems)
    assert "xqz" not in text
    assert "1899" not in text


def test_an_undesignated_crossing_is_reported_even_with_schema_errors() -> None:
    result = judge(submission(crossing="NYC", group_size="three"))
    assert codes(result) == {("crossing", "crossing_not_designated"), ("group_size", "int_type")}
