"""A person-returned event sealed for the log, and opened (or found erased) by a reader."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from schemas.codec import decode, encode
from schemas.envelope import Envelope
from schemas.person import PersonReturned
from schemas.sealed import SealedPersonReturned
from services.keys import Erased, KeyStore, SealError, open_raw, seal_envelope
from services.keys.sealing import seal_for_log
from services.keys.store import KeyRecord
from tests.support.sealed import hides, in_the_clear
from tests.unit.audit.audit_factories import Log
from tests.unit.screening.factories import returned


def maria() -> Envelope[PersonReturned]:
    return Log().person(returned("A212345678", pregnant=True), 0)


def test_the_sealed_event_shows_no_personal_data_and_opens_whole(store: KeyStore) -> None:
    envelope = maria()
    raw = encode(seal_for_log(store, envelope))
    for personal in (b"Mar", b"L\xc3\xb3pez", b"1994-03-02", b"HND", b"pregnant", b"spa"):
        assert personal not in in_the_clear(raw)
    assert hides(raw, b'"given_names":"Mar')
    document = json.loads(raw)
    assert document["schema_version"] == 2
    assert document["data"]["case_id"] == "A212345678"
    assert document["data"]["person"] == {"role_in_group": "head"}
    opened = open_raw(raw, store)
    assert not isinstance(opened, Erased)
    assert opened.data == envelope.data
    assert opened.data.declared.pregnant is True
    assert opened.event_id == envelope.event_id
    # Put together from two validated halves, it is what validating the whole would give.
    assert PersonReturned.model_validate_json(opened.data.model_dump_json()) == envelope.data
    assert encode(opened) == encode(envelope.model_copy(update={"schema_version": 2}))


def test_an_erased_case_opens_as_erased_not_as_an_error(store: KeyStore) -> None:
    raw = encode(seal_for_log(store, maria()))
    store.erase("A212345678")
    assert open_raw(raw, store) == Erased("A212345678", json.loads(raw)["event_id"])
    store.key_for_sealing("A212345678")  # a new record of the case, after the erasure
    assert isinstance(open_raw(raw, store), Erased)


def test_a_seal_swapped_between_two_events_of_the_case_does_not_open(store: KeyStore) -> None:
    first = seal_for_log(store, maria())
    other = Log().person(returned("A212345678", submission_id="cbp-elp-other"), 1)
    second = seal_for_log(store, other)
    swapped = second.model_copy(
        update={"data": second.data.model_copy(update={"personal": first.data.personal})}
    )
    with pytest.raises(SealError):
        open_raw(encode(swapped), store)


def test_an_old_plain_record_still_opens_without_any_key() -> None:
    envelope = maria()
    opened = open_raw(encode(envelope), None)
    assert not isinstance(opened, Erased)
    assert opened.data == envelope.data


def test_without_the_key_a_sealed_record_is_erased_for_that_reader(store: KeyStore) -> None:
    raw = encode(seal_envelope(maria(), "0123456789abcdef", bytes(32)))
    assert isinstance(open_raw(raw, None), Erased)
    assert isinstance(decode(raw, SealedPersonReturned).data, SealedPersonReturned)


def test_a_record_arrives_when_its_key_is_acknowledged_not_before(
    store: KeyStore, key_topic: list[KeyRecord]
) -> None:
    """Screening's window runs on arrival time: a key write that took seconds (a broker
    lost) must not make the record reach the log older than it is."""
    envelope = maria()
    acknowledged_then = datetime(2026, 12, 1, 21, 55, 26, tzinfo=UTC)
    keys_written_when_stamped: list[int] = []

    def clock() -> datetime:
        keys_written_when_stamped.append(len(key_topic))
        return acknowledged_then

    sealed = seal_for_log(store, envelope, clock)
    assert keys_written_when_stamped == [1]  # stamped after the case's key was written
    assert sealed.occurred_at == acknowledged_then != envelope.occurred_at
    assert sealed.event_id == envelope.event_id
    opened = open_raw(encode(sealed), store)
    assert not isinstance(opened, Erased)
    assert opened.data == envelope.data
    assert seal_for_log(store, envelope).occurred_at == envelope.occurred_at  # no clock
