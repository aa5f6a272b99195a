"""Hostile bodies get a specific, named rejection, never an exception."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import Envelope, IntakeRejected, SubmissionOrigin
from services.intake.handling import IntakeHandler
from services.intake.validation import (
    MAX_SUBMISSION_BYTES,
    Accepted,
    Rejected,
    validate_submission,
)
from services.reference import load_reference
from tests.unit.contracts.samples import as_bytes, submission

REFERENCE = load_reference()
NOW = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
KAFKA = SubmissionOrigin(channel="kafka", topic="returns-inbound", partition=3, offset=7)


def judge(raw: bytes) -> Accepted | Rejected:
    return validate_submission(raw, REFERENCE, NOW)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        pytest.param(b"[" * 1500 + b"]" * 1500, "too_deeply_nested", id="1500-nested-arrays"),
        pytest.param(b'{"a":' * 5000 + b"1" + b"}" * 5000, "too_deeply_nested", id="objects"),
        pytest.param(
            as_bytes(submission())[:-1] + b', "x": ' + b"[" * 3000 + b"]" * 3000 + b"}",
            "too_deeply_nested",
            id="deep-inside-a-valid-record",
        ),
        pytest.param(
            as_bytes(submission(group_size=0)).replace(
                b'"group_size": 0', b'"group_size": ' + b"9" * 20_000
            ),
            "number_out_of_range",
            id="20000-digit-number",
        ),
        pytest.param(b'{"source": "cbp\xff-elp"}', "not_utf8", id="latin-1-byte"),
        pytest.param('{"source": "x"}'.encode("utf-16"), "not_utf8", id="utf-16"),
        pytest.param(b'{"source": "a\x00b"}', "json_invalid", id="raw-nul-in-a-string"),
        pytest.param(b'{"source": "\\ud800"}', "json_invalid", id="lone-surrogate"),
        pytest.param(b"\xef\xbb\xbf{}", "json_invalid", id="byte-order-mark"),
    ],
)
def test_unreadable_bodies_are_malformed_with_a_specific_code(raw: bytes, code: str) -> None:
    result = judge(raw)
    assert isinstance(result, Rejected)
    assert [p.code for p in result.problems] == [code]
    assert result.malformed


def test_invalid_records_are_not_malformed() -> None:
    result = judge(as_bytes(submission(group_size=0)))
    assert isinstance(result, Rejected)
    assert not result.malformed


@pytest.mark.parametrize("spelling", ["3.0", "3e0", "0.3e1"])
def test_a_whole_number_spelt_as_a_float_is_the_integer(spelling: str) -> None:
    raw = as_bytes(submission()).replace(b'"group_size": 3', f'"group_size": {spelling}'.encode())
    result = judge(raw)
    assert isinstance(result, Accepted)
    assert result.record.group_size == 3


@pytest.mark.parametrize(
    ("value", "code"),
    [('"3"', "int_type"), ("3.5", "int_type"), ("1e400", "int_type"), ("1e300", "int_type")],
)
def test_other_numbers_for_an_integer_are_still_refused(value: str, code: str) -> None:
    raw = as_bytes(submission()).replace(b'"group_size": 3', f'"group_size": {value}'.encode())
    result = judge(raw)
    assert isinstance(result, Rejected)
    assert ("group_size", code) in {(p.field, p.code) for p in result.problems}


def test_an_escaped_nul_in_a_name_is_just_text() -> None:
    assert isinstance(judge(as_bytes(submission(person__given_names="Ana\u0000"))), Accepted)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Envelope[Any]]] = []

    async def __call__(self, topic: str, envelope: Envelope[Any]) -> None:
        self.sent.append((topic, envelope))


async def test_an_oversized_kafka_record_is_rejected_and_kept_truncated() -> None:
    emit = Recorder()
    handler = IntakeHandler(REFERENCE, {}, emit)
    record = submission(person__given_names="A" * 200)
    raw = json.dumps(record | {"padding": " " * (2 * MAX_SUBMISSION_BYTES)}).encode()
    outcome = await handler.handle(raw, b"key-1", KAFKA, NOW)
    [(topic, envelope)] = emit.sent
    assert (outcome.status, topic) == ("rejected", "intake-rejected")
    data = envelope.data
    assert isinstance(data, IntakeRejected)
    assert [r.code for r in data.reasons] == ["body_too_large"]
    assert (data.original_size, data.truncated) == (len(raw), True)
    assert raw.startswith(base64.b64decode(data.original_base64))
    assert len(base64.b64decode(data.original_base64)) < MAX_SUBMISSION_BYTES


@pytest.mark.parametrize(
    "raw",
    [b"[" * 100_000, b"\x00" * 1000, b"{" * 10 + b"\xff" * 10, b'{"person": ' * 300 + b"}"],
)
async def test_the_agent_records_every_hostile_record(raw: bytes) -> None:
    emit = Recorder()
    handler = IntakeHandler(REFERENCE, {}, emit)
    outcome = await handler.handle(raw, b"\xff\xfekey", KAFKA, NOW)
    [(topic, envelope)] = emit.sent
    assert (outcome.status, topic) == ("rejected", "intake-rejected")
    assert envelope.data.reasons
