"""The contract's models: strict, frozen, complete errors, sensitive data marked."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from schemas import (
    EVENT_TYPES,
    TOPICS,
    EventValidationError,
    PersonReturned,
    decode,
    decode_data,
    encode,
    event_id_for,
    sensitive_fields,
)
from tests.unit.contracts.samples import SUBMISSION, as_bytes, submission
from tests.unit.screening.factories import published


def test_the_contract_example_is_a_valid_submission() -> None:
    record = decode_data(as_bytes(SUBMISSION), PersonReturned)
    assert record.group_id == "G-2026-000123"
    assert record.returned_at.utcoffset().total_seconds() == -7 * 3600  # type: ignore[union-attr]


def test_local_return_date_is_the_date_in_its_own_offset() -> None:
    late_evening = decode_data(
        as_bytes(submission(returned_at="2026-11-27T23:30:00-07:00")), PersonReturned
    )
    assert str(late_evening.local_return_date) == "2026-11-27"


def test_unknown_fields_are_rejected_at_every_level() -> None:
    record = submission(nickname="Majo", person__favourite_colour="blue")
    with pytest.raises(EventValidationError) as caught:
        decode_data(as_bytes(record), PersonReturned)
    fields = {e.field for e in caught.value.errors}
    assert fields == {"nickname", "person.favourite_colour"}
    assert {e.code for e in caught.value.errors} == {"extra_forbidden"}


def test_every_field_error_is_reported_at_once() -> None:
    record = submission(case_id="B123", group_size="three", person__sex="female")
    del record["crossing"]
    with pytest.raises(EventValidationError) as caught:
        decode_data(as_bytes(record), PersonReturned)
    assert {e.field for e in caught.value.errors} == {
        "case_id",
        "group_size",
        "person.sex",
        "crossing",
    }


def test_errors_never_echo_the_submitted_values() -> None:
    record = submission(person__sex="Guadalupe Hernández")
    with pytest.raises(EventValidationError) as caught:
        decode_data(as_bytes(record), PersonReturned)
    assert "Guadalupe" not in str(caught.value)


def test_strict_types_refuse_coercion() -> None:
    with pytest.raises(EventValidationError):
        decode_data(as_bytes(submission(group_size="3")), PersonReturned)
    with pytest.raises(EventValidationError):
        decode_data(as_bytes(submission(declared__pregnant="no")), PersonReturned)


def test_hearing_may_be_null_or_absent() -> None:
    absent = submission()
    del absent["hearing"]
    assert decode_data(as_bytes(absent), PersonReturned).hearing is None
    assert decode_data(as_bytes(submission(hearing=None)), PersonReturned).hearing is None


def test_returned_at_needs_an_offset() -> None:
    with pytest.raises(EventValidationError) as caught:
        decode_data(as_bytes(submission(returned_at="2026-11-27T15:58:00")), PersonReturned)
    assert caught.value.errors[0].field == "returned_at"


def test_models_are_frozen() -> None:
    record = decode_data(as_bytes(SUBMISSION), PersonReturned)
    with pytest.raises(ValidationError):
        record.group_size = 4  # type: ignore[misc]


def test_personal_data_is_marked_sensitive() -> None:
    marked = set(sensitive_fields(PersonReturned))
    assert {
        "person.given_names",
        "person.family_names",
        "person.date_of_birth",
        "person.nationality",
        "person.languages",
        "declared.pregnant",
        "declared.lgbti",
        "declared.mental_illness",
    } <= marked
    assert "group_id" not in marked
    assert "crossing" not in marked


def test_envelope_round_trip_is_byte_for_byte_stable() -> None:
    record = decode_data(as_bytes(SUBMISSION), PersonReturned)
    envelope = published(record)
    raw = encode(envelope)
    again = decode(raw, PersonReturned)
    assert again.data == record
    assert again.event_id == envelope.event_id
    assert encode(again) == raw
    assert b'"occurred_at":"' in raw
    assert raw.count(b'Z"') >= 1


def test_decode_refuses_another_event_type() -> None:
    record = decode_data(as_bytes(SUBMISSION), PersonReturned)
    envelope = published(record)
    from schemas import Screened

    with pytest.raises(EventValidationError) as caught:
        decode(encode(envelope), Screened)
    assert caught.value.errors[0].code == "wrong_event_type"


def test_malformed_json_is_a_typed_error() -> None:
    with pytest.raises(EventValidationError) as caught:
        decode_data(b"{not json", PersonReturned)
    assert caught.value.errors[0].code in {"json_invalid", "invalid_json"}


def test_event_ids_are_deterministic_uuid5() -> None:
    first = event_id_for("person-returned", "cbp-elp", "cbp-elp-2026-11-27-000981")
    assert first == event_id_for("person-returned", "cbp-elp", "cbp-elp-2026-11-27-000981")
    assert first != event_id_for("person-returned", "cbp-elp", "cbp-elp-2026-11-27-000982")
    assert first[14] == "5"
    # The separator keeps ("ab", "c") and ("a", "bc") apart.
    assert event_id_for("t", "ab", "c") != event_id_for("t", "a", "bc")


def test_every_topic_but_the_raw_one_and_the_key_topic_has_one_enveloped_event_type() -> None:
    enveloped = [spec for spec in TOPICS.values() if spec.value is not None]
    assert len(enveloped) == len(TOPICS) - 2 == len(EVENT_TYPES)
    assert TOPICS["returns-inbound"].value is None
    assert TOPICS["person-keys"].value is None
    for spec in enveloped:
        assert spec.value is not None
        assert spec.name == spec.value.EVENT_TYPE
