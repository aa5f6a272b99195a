"""What intake does with one submission, with an in-memory table and a fake emitter."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import Envelope, IntakeRejected, PersonReturned, SubmissionOrigin
from services.intake.handling import IntakeHandler, person_returned_id
from services.reference import load_reference
from tests.unit.contracts.samples import as_bytes, submission

NOW = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
KAFKA = SubmissionOrigin(channel="kafka", topic="returns-inbound", partition=3, offset=41)


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Envelope[Any]]] = []

    async def __call__(self, topic: str, envelope: Envelope[Any]) -> None:
        self.sent.append((topic, envelope))

    def on(self, topic: str) -> list[Envelope[Any]]:
        return [envelope for name, envelope in self.sent if name == topic]


@pytest.fixture
def emit() -> Recorder:
    return Recorder()


@pytest.fixture
def handler(emit: Recorder) -> IntakeHandler:
    return IntakeHandler(load_reference(), {}, emit)


async def test_a_valid_submission_becomes_person_returned(
    handler: IntakeHandler, emit: Recorder
) -> None:
    outcome = await handler.handle(as_bytes(submission()), b"G-2026-000123", KAFKA, NOW)
    [event] = emit.on("person-returned")
    assert outcome.status == "accepted"
    assert (
        event.event_id
        == outcome.event_id
        == person_returned_id("cbp-elp", "cbp-elp-2026-11-27-000981")
    )
    assert isinstance(event.data, PersonReturned)
    assert (event.correlation_id, event.crossing) == ("G-2026-000123", "ELP")


async def test_the_same_submission_ten_times_is_published_once(
    handler: IntakeHandler, emit: Recorder
) -> None:
    outcomes = [await handler.handle(as_bytes(submission()), None, KAFKA, NOW) for _ in range(10)]
    assert len(emit.on("person-returned")) == 1
    assert [o.status for o in outcomes] == ["accepted"] + ["duplicate"] * 9
    assert len({o.event_id for o in outcomes}) == 1


async def test_a_changed_resubmission_keeps_the_first_and_records_the_conflict(
    handler: IntakeHandler, emit: Recorder
) -> None:
    await handler.handle(as_bytes(submission()), None, KAFKA, NOW)
    outcome = await handler.handle(as_bytes(submission(group_size=4)), None, KAFKA, NOW)
    assert outcome.status == "duplicate"
    assert len(emit.on("person-returned")) == 1
    [rejection] = emit.on("intake-rejected")
    assert [r.code for r in rejection.data.reasons] == ["conflicting_resubmission"]


async def test_a_rejection_keeps_the_original_bytes_and_every_reason(
    handler: IntakeHandler, emit: Recorder
) -> None:
    raw = as_bytes(submission(crossing="NYC", person__nationality="XXX"))
    outcome = await handler.handle(raw, b"some-key", KAFKA, NOW)
    [event] = emit.on("intake-rejected")
    data = event.data
    assert isinstance(data, IntakeRejected)
    assert outcome.status == "rejected"
    assert base64.b64decode(data.original_base64) == raw
    assert {r.code for r in data.reasons} == {"crossing_not_designated", "unknown_country"}
    assert (data.submission_key, data.origin.offset) == ("some-key", 41)
    assert not emit.on("person-returned")


async def test_reprocessing_the_same_bad_record_gives_the_same_rejection_id(
    handler: IntakeHandler, emit: Recorder
) -> None:
    await handler.handle(b"{oops", None, KAFKA, NOW)
    await handler.handle(b"{oops", None, KAFKA, NOW)
    first, second = emit.on("intake-rejected")
    assert first.event_id == second.event_id


async def test_an_oversized_body_is_recorded_truncated(
    handler: IntakeHandler, emit: Recorder
) -> None:
    from schemas.codec import FieldError
    from services.intake.validation import Rejected

    raw = b"x" * 100_000
    problem = Rejected([FieldError(None, "body_too_large", "body exceeds 65536 bytes")])
    await handler.reject(
        raw, None, SubmissionOrigin(channel="http"), NOW, problem, original_size=len(raw)
    )
    [event] = emit.on("intake-rejected")
    assert event.data.truncated is True
    assert event.data.original_size == 100_000
    assert len(base64.b64decode(event.data.original_base64)) == 16 * 1024
