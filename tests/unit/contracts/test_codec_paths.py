"""Decoding parses a current record once, and reads every other record as before."""

from __future__ import annotations

import json

import pytest

from schemas import (
    EventValidationError,
    PersonReturned,
    SealedPersonReturned,
    decode,
    decode_any,
    encode,
)
from schemas.decisions import Screened
from tests.unit.contracts.samples import SUBMISSION
from tests.unit.contracts.test_upcasting import v1_event
from tests.unit.screening.factories import published


def test_a_current_record_decodes_to_the_event_that_was_encoded() -> None:
    envelope = decode(json.dumps(v1_event()).encode(), SealedPersonReturned)
    raw = encode(envelope)
    again = decode(raw, SealedPersonReturned)
    assert again == envelope
    assert decode_any(raw) == envelope


def test_a_record_of_another_type_is_refused_with_both_types_named() -> None:
    raw = encode(decode(json.dumps(v1_event()).encode(), SealedPersonReturned))
    with pytest.raises(EventValidationError) as caught:
        decode(raw, Screened)
    assert [e.code for e in caught.value.errors] == ["wrong_event_type"]
    assert "expected screened, got 'person-returned'" in str(caught.value)


def test_an_old_version_is_still_upcast_when_the_bytes_have_spaces() -> None:
    spaced = json.dumps(v1_event(), indent=2).encode()
    envelope = decode(spaced, SealedPersonReturned)
    assert envelope.schema_version == 2
    assert envelope.data.personal.scheme == "clear"


def test_an_integer_past_64_bits_is_reported_as_the_integer_it_is() -> None:
    huge = 2**70
    with pytest.raises(EventValidationError) as caught:
        decode(json.dumps(v1_event(group_size=huge)).encode(), SealedPersonReturned)
    [error] = caught.value.errors
    assert error.field == "data.group_size"
    assert error.code == "less_than_equal"  # an integer too large, not a float


def test_nan_in_an_old_record_is_refused_not_turned_into_null() -> None:
    raw = json.dumps(v1_event(hearing=float("nan"))).encode()
    assert b"NaN" in raw
    with pytest.raises(EventValidationError) as caught:
        decode(raw, SealedPersonReturned)
    assert [e.field for e in caught.value.errors] == ["data.hearing"]


def test_bytes_that_are_not_json_keep_their_message() -> None:
    with pytest.raises(EventValidationError) as caught:
        decode(b'{"event_type": "screened", ', Screened)
    [error] = caught.value.errors
    assert error.code == "invalid_json"
    assert error.message.startswith("not UTF-8 JSON: ")


def test_decode_any_is_not_misled_by_an_event_type_inside_data() -> None:
    record = PersonReturned.model_validate_json(
        json.dumps({**SUBMISSION, "submission_id": '"event_type":"screened"'})
    )
    envelope = published(record)
    document = json.loads(encode(envelope))
    misleading = {"data": document.pop("data"), **document}  # `data` first
    decoded = decode_any(json.dumps(misleading, separators=(",", ":")).encode())
    assert decoded.event_type == "person-returned"
    assert isinstance(decoded.data, SealedPersonReturned)
