"""Input events become commands for their unit, or are recorded with a reason and ignored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from schemas.codec import encode
from schemas.decisions import Screened
from schemas.envelope import event_id_for, make_envelope
from schemas.status import CapacityUpdated, LocationStatusChanged, ShelterDeparted
from services.placement.commands import (
    PlaceGroup,
    ReleaseBeds,
    SetLocationStatus,
    SetShelterCapacity,
    WithdrawGroup,
    decode_command,
    encode_command,
)
from services.placement.inputs import InputTranslator
from services.placement.metrics import Rejection
from tests.unit.placement.command_factories import REFERENCE, UNITS
from tests.unit.placement.placement_factories import AFTERNOON

NOW = datetime(2026, 11, 27, 23, 0, 5, tzinfo=UTC)
INPUTS = InputTranslator(REFERENCE, UNITS)


def screened(crossing: str | None = "ELP", **overrides: Any) -> bytes:
    document: dict[str, Any] = {
        "group_id": "G-2026-000123",
        "decision": "accepted",
        "rule_set": "2021-12",
        "members": [
            {"case_id": case_id, "flags": [], "needs": ["legal_aid"], "interpreter_language": None}
            for case_id in ("A212345678", "A212345679", "A212345680")
        ],
        "reasons": [],
        "returned_at": AFTERNOON.isoformat(),
        "group_size": 3,
        **overrides,
    }
    data = Screened.model_validate_json(json.dumps(document))
    envelope = make_envelope(
        data,
        event_id=event_id_for("screened", "G-2026-000123"),
        producer="screening/0.1.0",
        correlation_id=data.group_id,
        causation_id="sha256:00",
        crossing=crossing,
    )
    return encode(envelope)


def status_changed(location: str) -> bytes:
    data = LocationStatusChanged(
        location=location, security_level="suspended", daily_cap=30, effective_at=AFTERNOON
    )
    return encode(_envelope(data, location))


def capacity_updated(location: str, shelter_id: str, beds: int = 40) -> bytes:
    data = CapacityUpdated(
        shelter_id=shelter_id, location=location, beds=beds, effective_at=AFTERNOON
    )
    return encode(_envelope(data, shelter_id))


def departed(location: str, shelter_id: str) -> bytes:
    data = ShelterDeparted(
        group_id="G-2026-000123", shelter_id=shelter_id, location=location, departed_at=AFTERNOON
    )
    return encode(_envelope(data, "G-2026-000123"))


def _envelope(data: Any, key: str) -> Any:
    return make_envelope(
        data,
        event_id=event_id_for(data.EVENT_TYPE, key),
        producer="inm/1.0",
        correlation_id=key,
        causation_id=None,
        crossing=None,
    )


def rejection(topic: str, raw: bytes) -> Rejection:
    outcome = INPUTS.command_for(topic, raw, NOW)
    assert isinstance(outcome, Rejection), outcome
    return outcome


def test_an_accepted_family_at_el_paso_becomes_a_placement_for_ciudad_juarez() -> None:
    command = INPUTS.command_for("screened", screened(), NOW)
    assert isinstance(command, PlaceGroup)
    assert (command.unit, command.location, command.crossing) == ("CJS", "CJS", "ELP")
    assert command.members == ("A212345678", "A212345679", "A212345680")
    assert command.beds == 3
    assert command.returned_at == AFTERNOON
    assert command.issued_at == NOW
    assert command.screened_event_id == event_id_for("screened", "G-2026-000123")


def test_a_group_returned_at_laredo_goes_to_the_unit_that_also_holds_monterrey() -> None:
    command = INPUTS.command_for("screened", screened("LRD"), NOW)
    assert isinstance(command, PlaceGroup)
    assert (command.location, command.unit) == ("NLD", "MTY")


@pytest.mark.parametrize("decision", ["declined", "referred", "not_eligible"])
def test_groups_that_were_not_accepted_are_not_placed(decision: str) -> None:
    assert INPUTS.command_for("screened", screened(decision=decision), NOW) is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (screened(crossing="XYZ"), "UNKNOWN_CROSSING"),
        (screened(crossing=None), "UNKNOWN_CROSSING"),
        (screened(returned_at=None), "MISSING_RETURNED_AT"),
        (screened(members=[]), "NO_MEMBERS"),
        (screened(decided_after=event_id_for("screened", "x")), "LATE_MEMBER_NEEDS_OPS"),
    ],
)
def test_an_accepted_group_that_cannot_be_placed_is_recorded_with_its_reason(
    raw: bytes, reason: str
) -> None:
    found = rejection("screened", raw)
    assert found.reason == reason
    assert found.event_id == event_id_for("screened", "G-2026-000123")


def test_a_status_change_is_addressed_to_the_unit_of_its_location() -> None:
    command = INPUTS.command_for("location-status-changed", status_changed("MAM"), NOW)
    assert isinstance(command, SetLocationStatus)
    assert (command.unit, command.location, command.security_level) == ("MTY", "MAM", "suspended")


def test_a_status_change_for_an_unknown_location_is_rejected() -> None:
    assert rejection("location-status-changed", status_changed("XYZ")).reason == "UNKNOWN_LOCATION"


def test_new_beds_at_casa_del_migrante_become_a_capacity_command() -> None:
    command = INPUTS.command_for("capacity-updated", capacity_updated("CJS", "CJS-S01", 200), NOW)
    assert isinstance(command, SetShelterCapacity)
    assert (command.unit, command.shelter_id, command.beds) == ("CJS", "CJS-S01", 200)


@pytest.mark.parametrize(
    ("location", "shelter_id", "reason"),
    [
        ("CJS", "CJS-S99", "UNKNOWN_SHELTER"),
        ("CJS", "TIJ-S01", "SHELTER_NOT_AT_LOCATION"),
        ("XYZ", "CJS-S01", "UNKNOWN_LOCATION"),
    ],
)
def test_capacity_and_departures_must_name_a_shelter_of_that_location(
    location: str, shelter_id: str, reason: str
) -> None:
    assert rejection("capacity-updated", capacity_updated(location, shelter_id)).reason == reason
    assert rejection("shelter-departed", departed(location, shelter_id)).reason == reason


def test_negative_beds_are_rejected_without_crashing_and_keep_the_event_id() -> None:
    document = json.loads(capacity_updated("CJS", "CJS-S02"))
    document["data"]["beds"] = -5
    found = rejection("capacity-updated", json.dumps(document).encode())
    assert found.reason == "NEGATIVE_BEDS"
    assert found.event_id == document["event_id"]
    assert "-5" not in found.detail


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"event_id": "Mar\xc3\xada"}', b"\xff"])
def test_unreadable_input_is_rejected_as_invalid_and_names_no_content(raw: bytes) -> None:
    found = rejection("shelter-departed", raw)
    assert (found.reason, found.event_id) == ("INVALID_EVENT", None)


def test_a_departure_from_monterrey_goes_to_the_unit_of_nuevo_laredo_and_matamoros() -> None:
    command = INPUTS.command_for("shelter-departed", departed("MTY", "MTY-S01"), NOW)
    assert isinstance(command, ReleaseBeds)
    assert (command.unit, command.group_id) == ("MTY", "G-2026-000123")


def test_commands_survive_the_trip_through_the_topic() -> None:
    command = INPUTS.command_for("screened", screened(), NOW)
    assert isinstance(command, PlaceGroup)
    assert decode_command(encode_command(command)) == command


def test_a_re_decision_that_accepts_the_family_again_names_the_decision_it_replaces() -> None:
    earlier = event_id_for("screened", "the first decision")
    command = INPUTS.command_for("screened", screened(supersedes=earlier, revision=2), NOW)
    assert isinstance(command, PlaceGroup)
    assert (command.supersedes, command.screened_event_id) == (
        earlier,
        event_id_for("screened", "G-2026-000123"),
    )


@pytest.mark.parametrize("decision", ["declined", "referred", "not_eligible"])
def test_a_re_decision_that_no_longer_accepts_the_family_withdraws_it(decision: str) -> None:
    earlier = event_id_for("screened", "the first decision")
    raw = screened(decision=decision, supersedes=earlier, revision=2)
    command = INPUTS.command_for("screened", raw, NOW)
    assert isinstance(command, WithdrawGroup)
    assert (command.unit, command.location, command.group_id) == ("CJS", "CJS", "G-2026-000123")
    assert (command.supersedes, command.screened_event_id) == (
        earlier,
        event_id_for("screened", "G-2026-000123"),
    )
    assert decode_command(encode_command(command)) == command


def test_a_legacy_late_member_not_accepted_is_still_ignored() -> None:
    raw = screened(decision="declined", decided_after=event_id_for("screened", "x"))
    assert INPUTS.command_for("screened", raw, NOW) is None
