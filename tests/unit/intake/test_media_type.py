"""Only JSON in UTF-8 is a submission; everything else is a 415 with one code."""

from __future__ import annotations

import pytest

from services.intake.http import media_type_problem


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON; Charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/json;;;",
    ],
)
def test_json_in_utf8_is_taken(content_type: str) -> None:
    assert media_type_problem(content_type) is None


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin-1",
        "application/jsonx",
        "application/problem+json",
        "application/json\x00",
    ],
)
def test_anything_else_is_unsupported(content_type: str | None) -> None:
    problem = media_type_problem(content_type)
    assert problem is not None
    assert (problem.field, problem.code) == (None, "unsupported_media_type")
