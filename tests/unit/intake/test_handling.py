"""What intake does with one submission, with an in-memory table and a fake emitter."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas import Envelope, IntakeRejected, PersonReturned, SubmissionOrigin
from schemas.codec import decode_data
from services.intake.handling import (
    IntakeHandler,
    check_against_seen,
    person_returned_id,
    seen_key,
)
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
    [reason] = rejection.data.reasons
    assert (reason.field, reason.code) == ("submission_id", "conflicting_resubmission")
    assert "send a correction" in reason.message
    assert "`corrects`" in reason.message


ORIGINAL = "cbp-elp-2026-11-27-000981"


def correction(**changes: Any) -> dict[str, Any]:
    """A correction of the sample submission: the mother is in fact pregnant."""
    fields: dict[str, Any] = {
        "submission_id": "cbp-elp-2026-11-27-000981-c1",
        "corrects": ORIGINAL,
        "declared__pregnant": True,
    }
    return submission(**(fields | changes))


async def test_a_correction_is_published_under_its_own_id_naming_the_original(
    handler: IntakeHandler, emit: Recorder
) -> None:
    await handler.handle(as_bytes(submission()), None, KAFKA, NOW)
    outcome = await handler.handle(as_bytes(correction()), None, KAFKA, NOW)
    original, corrected = emit.on("person-returned")
    assert outcome.status == "accepted"
    assert corrected.event_id == person_returned_id("cbp-elp", "cbp-elp-2026-11-27-000981-c1")
    assert corrected.event_id != original.event_id
    assert isinstance(corrected.data, PersonReturned)
    assert corrected.data.corrects == ORIGINAL
    assert corrected.data.declared.pregnant is True
    assert corrected.correlation_id == "G-2026-000123"
    assert not emit.on("intake-rejected")


async def test_a_correction_of_an_unknown_original_is_accepted(
    handler: IntakeHandler, emit: Recorder
) -> None:
    outcome = await handler.handle(as_bytes(correction()), None, KAFKA, NOW)
    assert outcome.status == "accepted"
    [event] = emit.on("person-returned")
    assert event.data.corrects == ORIGINAL


async def test_a_correction_of_itself_is_rejected(handler: IntakeHandler, emit: Recorder) -> None:
    outcome = await handler.handle(as_bytes(submission(corrects=ORIGINAL)), None, KAFKA, NOW)
    assert outcome.status == "rejected"
    [rejection] = emit.on("intake-rejected")
    assert [(r.field, r.code) for r in rejection.data.reasons] == [
        ("corrects", "correction_of_itself")
    ]
    assert not emit.on("person-returned")


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        pytest.param({"case_id": "A299999999"}, ["case_id"], id="other-case"),
        pytest.param({"group_id": "G-2026-000999"}, ["group_id"], id="other-group"),
        pytest.param(
            {"case_id": "A299999999", "group_id": "G-2026-000999"},
            ["case_id", "group_id"],
            id="both",
        ),
    ],
)
async def test_a_correction_that_changes_identity_is_rejected(
    handler: IntakeHandler, emit: Recorder, changes: dict[str, Any], fields: list[str]
) -> None:
    await handler.handle(as_bytes(submission()), None, KAFKA, NOW)
    outcome = await handler.handle(as_bytes(correction(**changes)), None, KAFKA, NOW)
    assert outcome.status == "rejected"
    assert len(emit.on("person-returned")) == 1
    [rejection] = emit.on("intake-rejected")
    assert [(r.field, r.code) for r in rejection.data.reasons] == [
        (name, "correction_changes_identity") for name in fields
    ]
    assert rejection.data.submission_id == "cbp-elp-2026-11-27-000981-c1"


async def test_an_original_stored_before_corrections_existed_is_not_compared(
    emit: Recorder,
) -> None:
    seen = {seen_key("cbp-elp", ORIGINAL): b'{"event_id": "e", "digest": "d"}'}
    handler = IntakeHandler(load_reference(), seen, emit)
    outcome = await handler.handle(as_bytes(correction(case_id="A299999999")), None, KAFKA, NOW)
    assert outcome.status == "accepted"


async def test_the_seen_record_keeps_the_identity_a_correction_is_held_to(
    handler: IntakeHandler,
) -> None:
    await handler.handle(as_bytes(submission()), None, KAFKA, NOW)
    stored = json.loads(handler.seen[seen_key("cbp-elp", ORIGINAL)])
    assert (stored["case_id"], stored["group_id"]) == ("A212345678", "G-2026-000123")
    assert set(stored) == {"event_id", "digest", "case_id", "group_id"}


async def test_what_http_decides_before_forwarding(handler: IntakeHandler) -> None:
    """The HTTP view answers 422 on a problem, 202 without forwarding on a duplicate."""

    def check(record: dict[str, Any]) -> tuple[str, list[str]]:
        result = check_against_seen(decode_data(as_bytes(record), PersonReturned), handler.seen)
        return result.verdict, [p.code for p in result.problems]

    assert check(submission()) == ("new", [])
    await handler.handle(as_bytes(submission()), None, KAFKA, NOW)
    assert check(submission()) == ("duplicate", [])
    assert check(submission(group_size=4)) == ("conflict", ["conflicting_resubmission"])
    assert check(correction()) == ("new", [])
    assert check(correction(group_id="G-2026-000999")) == (
        "invalid",
        ["correction_changes_identity"],
    )


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
