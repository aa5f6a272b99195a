"""Old event versions are lifted to the current one on read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from schemas import (
    EventValidationError,
    PersonReturned,
    SealedPersonReturned,
    decode,
    encode,
)
from schemas.upcasting import UpcastError, unregister, upcast, upcaster
from tests.unit.contracts.samples import SUBMISSION
from tests.unit.screening.factories import published


class PersonReturnedV3(SealedPersonReturned):
    """A made-up next version, so that the real v1 and v2 events count as old."""

    SCHEMA_VERSION: ClassVar[int] = 3


@pytest.fixture
def v2_to_v3() -> Iterator[None]:
    @upcaster("person-returned", 2)
    def rename_family_size(raw: dict[str, Any]) -> dict[str, Any]:
        data = dict(raw["data"])
        if "family_size" in data:
            data["group_size"] = data.pop("family_size")
        return {**raw, "data": data}

    yield
    unregister("person-returned", 2)


def v1_event(**data_changes: Any) -> dict[str, Any]:
    record = PersonReturned.model_validate_json(json.dumps(SUBMISSION))
    envelope = published(record)
    document: dict[str, Any] = json.loads(encode(envelope))
    document["data"].update(data_changes)
    return document


@pytest.mark.usefixtures("v2_to_v3")
def test_an_old_version_is_upcast_on_read() -> None:
    old = v1_event()
    old["data"]["family_size"] = old["data"].pop("group_size")
    envelope = decode(json.dumps(old).encode(), PersonReturnedV3)
    assert envelope.schema_version == 3
    assert envelope.data.group_size == 3


def test_a_plain_v1_person_returned_is_read_with_its_fields_in_the_clear() -> None:
    envelope = decode(json.dumps(v1_event()).encode(), SealedPersonReturned)
    assert envelope.schema_version == 2
    assert envelope.data.person.role_in_group == "head"
    assert envelope.data.personal.scheme == "clear"
    assert envelope.data.personal.personal.person.given_names == "María José"


def test_a_missing_step_is_a_clear_error() -> None:
    with pytest.raises(EventValidationError) as caught:
        decode(json.dumps(v1_event()).encode(), PersonReturnedV3)
    assert "no upcaster from v2 to v3" in str(caught.value)


def test_a_newer_version_than_the_reader_is_refused() -> None:
    with pytest.raises(UpcastError, match="upgrade the reader"):
        upcast({"event_type": "screened", "schema_version": 2}, current_version=1)


def test_registering_the_same_step_twice_is_refused(v2_to_v3: None) -> None:
    with pytest.raises(ValueError, match="already exists"):
        upcaster("person-returned", 2)(lambda raw: raw)
