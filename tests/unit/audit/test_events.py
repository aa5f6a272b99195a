"""Log order, decoding, and recognising repeated events."""

from __future__ import annotations

import json

import pytest

from schemas.codec import EventValidationError, encode
from services.audit.events import (
    Logged,
    ReplayStats,
    data_checksum,
    decode_event,
    in_log_order,
    occurred_at_of,
    unique_events,
)
from services.keys import seal_envelope
from tests.unit.audit.audit_factories import T0, Log, at
from tests.unit.screening.factories import returned


def test_log_order_is_by_occurred_at_then_causes_before_effects() -> None:
    log = Log()
    person = log.person(returned(), 0)
    screened = log.screen([person], 1)
    log.place(screened, "CJS", "CJS-S16", 1)  # the same instant as its cause
    shuffled = list(reversed(log.events))
    assert [e.topic for e in in_log_order(shuffled)] == ["person-returned", "screened", "placed"]


def test_a_repeated_event_is_a_duplicate_and_passes_once() -> None:
    log = Log()
    person = log.person(returned(), 0)
    log.add("person-returned", person.model_copy(update={"occurred_at": at(5)}))
    stats = ReplayStats()
    passed = list(unique_events(log.events, stats))
    assert [e.event_id for e in passed] == [person.event_id]
    assert stats.duplicates == 1
    assert stats.by_topic == {"person-returned": 1}
    assert stats.conflicts == []


def test_a_repeat_with_other_data_is_a_conflict_and_the_first_stands() -> None:
    log = Log()
    person = log.person(returned(), 0)
    other = person.data.model_copy(update={"group_size": 2})
    log.add("person-returned", person.model_copy(update={"data": other}))
    stats = ReplayStats()
    passed = list(unique_events(log.events, stats))
    assert passed == log.events[:1]
    assert [c.event_id for c in stats.conflicts] == [person.event_id]
    assert stats.conflicts[0].repeated_at == "person-returned[0]@1"


def test_decoding_reads_the_current_version_in_one_pass() -> None:
    log = Log()
    sealed = seal_envelope(log.person(returned(), 0), "0123456789abcdef", bytes(32))
    assert decode_event("person-returned", encode(sealed)) == sealed


def test_a_plain_version_1_record_is_upcast_with_its_fields_in_the_clear() -> None:
    envelope = Log().person(returned(), 0)
    decoded = decode_event("person-returned", encode(envelope))
    assert decoded.schema_version == 2
    assert decoded.data.personal.scheme == "clear"
    assert decoded.data.case_id == envelope.data.case_id


def test_another_version_goes_through_the_upcasting_reader() -> None:
    envelope = Log().person(returned(), 0)
    document = json.loads(encode(envelope))
    document["schema_version"] = 3
    with pytest.raises(EventValidationError, match="newer than this reader"):
        decode_event("person-returned", json.dumps(document).encode())


def test_an_event_on_the_wrong_topic_is_not_decoded() -> None:
    envelope = Log().person(returned(), 0)
    with pytest.raises(EventValidationError, match="expected screened"):
        decode_event("screened", encode(envelope))


def test_occurred_at_is_read_without_decoding_or_falls_back_to_the_record_time() -> None:
    envelope = Log().person(returned(), 0)
    assert occurred_at_of(encode(envelope), 0) == T0
    assert occurred_at_of(b"not json", 1_700_000_000_000).year == 2023


def test_the_checksum_covers_the_data_only() -> None:
    envelope = Log().person(returned(), 0)
    later = envelope.model_copy(update={"occurred_at": at(9), "producer": "intake/9"})
    assert data_checksum(encode(envelope)) == data_checksum(encode(later))
    assert Logged.of("person-returned", envelope).checksum == data_checksum(encode(envelope))
