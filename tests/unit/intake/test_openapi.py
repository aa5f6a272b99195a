"""The OpenAPI document states what intake enforces, so generated valid requests pass."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.openapi import openapi_document
from services.intake.validation import Accepted, validate_submission
from services.reference import load_reference

REFERENCE = load_reference()
NOW = datetime(2026, 12, 1, 18, 30, tzinfo=UTC)


def document(source: str | None = "cbp-elp", now: datetime = NOW) -> dict[str, Any]:
    return openapi_document(65_536, REFERENCE, now, source)


def test_it_validates_as_openapi_3() -> None:
    schemathesis.openapi.from_dict(document()).validate()
    schemathesis.openapi.from_dict(document(source=None)).validate()


def test_it_states_every_answer() -> None:
    responses = document()["paths"]["/v1/returns"]["post"]["responses"]
    assert set(responses) == {"202", "400", "401", "413", "415", "422", "503"}


def test_it_states_the_codes_intake_checks() -> None:
    schemas = document()["components"]["schemas"]
    submission = schemas["Submission"]["properties"]
    person = schemas["Person"]["properties"]
    assert submission["crossing"]["enum"] == sorted(REFERENCE.crossing_codes)
    assert "MTY" not in submission["crossing"]["enum"]
    assert {"HND", "GTM", "MEX"} <= set(person["nationality"]["enum"])
    assert "XXX" not in person["nationality"]["enum"]
    languages = set(person["languages"]["items"]["enum"])
    assert {"spa", "quc", "mam", "nah"} <= languages
    assert not {"fre", "qaa", "SPA"} & languages


def test_the_source_is_the_callers_when_its_token_is_sent() -> None:
    assert document()["components"]["schemas"]["Submission"]["properties"]["source"]["const"] == (
        "cbp-elp"
    )
    anonymous = document(source=None)["components"]["schemas"]["Submission"]["properties"]
    assert "const" not in anonymous["source"]


@pytest.mark.parametrize(
    ("returned_at", "described"),
    [
        ("2026-11-27T15:58:00-07:00", True),
        ("2026-12-01T09:00:00-07:00", True),  # today, an offset the clock has passed
        ("2026-12-01T23:59:00+05:00", True),
        ("2026-12-01T23:00:00-20:00", False),  # beyond a day ahead of the clock
        ("2026-12-02T00:00:00Z", False),
        ("2027-01-01T00:00:00Z", False),
    ],
)
def test_returned_at_is_bounded_by_the_clock(returned_at: str, described: bool) -> None:
    fields = document()["components"]["schemas"]["Submission"]["properties"]
    assert bool(re.fullmatch(fields["returned_at"]["pattern"], returned_at)) is described


# Each example builds the whole document, which takes longer than Hypothesis's default
# deadline on a loaded machine; and the test filters nothing itself: what the health
# check counted as filtered in a full run came from Hypothesis drawing the datetimes.
@settings(deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    moment=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    local=st.datetimes(min_value=datetime(1999, 1, 1), max_value=datetime(2031, 12, 31)),
    offset=st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59),
)
def test_every_returned_at_the_pattern_admits_is_within_a_day(
    moment: datetime, local: datetime, offset: int
) -> None:
    sign = "-" if offset < 0 else "+"
    text = f"{local:%Y-%m-%dT%H:%M:%S}{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    pattern = document(now=moment)["components"]["schemas"]["Submission"]["properties"][
        "returned_at"
    ]["pattern"]
    if re.fullmatch(pattern, text):
        assert datetime.fromisoformat(text) <= moment + timedelta(days=1)


OPERATION = schemathesis.openapi.from_dict(document())["/v1/returns"]["POST"]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=OPERATION.as_strategy())
def test_generated_valid_bodies_are_accepted(case: Any) -> None:
    if case.body.get("corrects") == case.body["submission_id"]:
        return  # the one rule between two strings a schema cannot state
    result = validate_submission(json.dumps(case.body).encode(), REFERENCE, NOW)
    assert isinstance(result, Accepted), result
