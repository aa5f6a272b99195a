"""Old event versions are lifted to the current one on read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from schemas import (
    EventValidationError,
    PersonReturned,
    decode,
    encode,
    event_id_for,
    make_envelope,
)
from schemas.upcasting import UpcastError, unregister, upcast, upcaster
from tests.unit.contracts.samples import SUBMISSION


class PersonReturnedV2(PersonReturned):
    """A made-up next version, so that the real v1 events count as old."""

    SCHEMA_VERSION: ClassVar[int] = 2


@pytest.fixture
def v1_to_v2() -> Iterator[None]:
    @upcaster("person-returned", 1)
    def rename_family_size(raw: dict[str, Any]) -> dict[str, Any]:
        data = dict(raw["data"])
        if "family_size" in data:
            data["group_size"] = data.pop("family_size")
        return {**raw, "data": data}

    yield
    unregister("person-returned", 1)


def v1_event(**data_changes: Any) -> dict[str, Any]:
    record = PersonReturned.model_validate_json(json.dumps(SUBMISSION))
    envelope = make_envelope(
        record,
        event_id=event_id_for("t", "1"),
        producer="p/1",
        correlation_id="G",
        causation_id=None,
        crossing="ELP",
    )
    document: dict[str, Any] = json.loads(encode(envelope))
    document["data"].update(data_changes)
    return document


@pytest.mark.usefixtures("v1_to_v2")
def test_an_old_version_is_upcast_on_read() -> None:
    old = v1_event()
    old["data"]["family_size"] = old["data"].pop("group_size")
    envelope = decode(json.dumps(old).encode(), PersonReturnedV2)
    assert envelope.schema_version == 2
    assert envelope.data.group_size == 3


def test_a_missing_step_is_a_clear_error() -> None:
    with pytest.raises(EventValidationError) as caught:
        decode(json.dumps(v1_event()).encode(), PersonReturnedV2)
    assert "no upcaster from v1 to v2" in str(caught.value)


def test_a_newer_version_than_the_reader_is_refused() -> None:
    with pytest.raises(UpcastError, match="upgrade the reader"):
        upcast({"event_type": "screened", "schema_version": 2}, current_version=1)


def test_registering_the_same_step_twice_is_refused(v1_to_v2: None) -> None:
    with pytest.raises(ValueError, match="already exists"):
        upcaster("person-returned", 1)(lambda raw: raw)
