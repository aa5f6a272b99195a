"""The live HTTP API under schemathesis and under raw generated requests: never a 5xx."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.inputs import BODIES, CONTENT_TYPES, QUICK, scaled
from tests.support.intake import Intake

pytestmark = [
    pytest.mark.fuzz,
    pytest.mark.timeout(1200),
    pytest.mark.filterwarnings("ignore:Generating overly large repr"),
]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def tally_answer(tally: Counter[str], channel: str, answer: Any) -> None:
    tally[f"{channel} inputs"] += 1
    tally[f"{channel} status {answer.status_code}"] += 1
    try:
        body = answer.json()
    except ValueError:
        return
    if isinstance(body, dict) and body.get("error") == "invalid_submission":
        tally["http answers recorded as rejections"] += 1
        for code in sorted({e["code"] for e in body["errors"]}):
            tally[f"{channel} {answer.status_code} code {code}"] += 1


def run_schemathesis(intake: Intake, tally: Counter[str], mode: GenerationMode, count: int) -> None:
    auth = {"Authorization": f"Bearer {intake.token}"}
    schema = schemathesis.openapi.from_url(f"{intake.url}/openapi.json", headers=auth)
    operation = schema["/v1/returns"]["POST"]

    @settings(max_examples=count, phases=[Phase.generate], **QUICK)
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        response = case.call(base_url=intake.url, headers=auth)
        tally_answer(tally, f"http schemathesis {mode.value}", response)
        case.validate_response(response, checks=CHECKS)

    call()


def test_schemathesis_positive(intake: Intake, tally: Counter[str]) -> None:
    run_schemathesis(intake, tally, GenerationMode.POSITIVE, scaled(1000))
    assert intake.ready()


def test_schemathesis_negative(intake: Intake, tally: Counter[str]) -> None:
    run_schemathesis(intake, tally, GenerationMode.NEGATIVE, scaled(1200))
    assert intake.ready()


def test_raw_requests(intake: Intake, tally: Counter[str]) -> None:
    schemes = st.sampled_from(["Bearer", "bearer", "BEARER", "Basic", ""])

    @settings(max_examples=scaled(2000), phases=[Phase.generate], **QUICK)
    @given(body=BODIES, content_type=CONTENT_TYPES, scheme=schemes, good=st.booleans())
    def post(body: bytes, content_type: str | None, scheme: str, good: bool) -> None:
        token = intake.token if good else "not-a-token"
        headers = {"Authorization": f"{scheme} {token}".strip()}
        if content_type is not None:
            headers["Content-Type"] = content_type
        answer = httpx.post(f"{intake.url}/v1/returns", content=body, headers=headers, timeout=30)
        tally_answer(tally, "http raw", answer)
        assert answer.status_code < 500, answer.text

    post()
    assert intake.ready()
