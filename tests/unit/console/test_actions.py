"""An official's form becomes one contract event, with who did it, or specific problems."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.codec import decode_any, encode
from services.console import actions
from services.reference import load_reference

NOW = datetime(2026, 12, 1, 17, 30, 5, 120000, tzinfo=UTC)
REFERENCE = load_reference()


def test_suspending_ciudad_juarez_names_the_official_and_keeps_the_note() -> None:
    form = {"action": "suspend", "daily_cap": "30", "note": "Enfrentamientos", "current_level": ""}
    out = actions.status_change(form, "CJS", "ana", NOW, REFERENCE)
    assert isinstance(out, actions.Outgoing)
    assert out.topic == "location-status-changed"
    data = out.envelope.data
    assert (data.location, data.security_level, data.daily_cap) == ("CJS", "suspended", 30)
    assert (data.note, data.changed_by, data.effective_at) == ("Enfrentamientos", "ana", NOW)
    assert (out.envelope.correlation_id, out.envelope.crossing) == ("CJS", "ELP")
    assert out.envelope.producer == "console/0.1.0"
    assert decode_any(encode(out.envelope)) == out.envelope  # valid on the wire


def test_setting_the_cap_keeps_the_current_level_and_the_same_form_gives_the_same_id() -> None:
    form = {
        "action": "set_cap",
        "daily_cap": "12",
        "note": "Menos personal",
        "current_level": "elevated",
    }
    first = actions.status_change(form, "NLD", "ana", NOW, REFERENCE)
    again = actions.status_change(form, "NLD", "ana", NOW, REFERENCE)
    assert isinstance(first, actions.Outgoing)
    assert isinstance(again, actions.Outgoing)
    assert (first.envelope.data.security_level, first.envelope.data.daily_cap) == ("elevated", 12)
    assert first.envelope.event_id == again.envelope.event_id


@pytest.mark.parametrize(
    ("form", "location", "problems"),
    [
        (
            {"action": "suspend", "daily_cap": "30", "note": " "},
            "CJS",
            {"note": "error_note_required"},
        ),
        (
            {"action": "suspend", "daily_cap": "-1", "note": "x"},
            "CJS",
            {"daily_cap": "error_cap_range"},
        ),
        (
            {"action": "suspend", "daily_cap": "treinta", "note": "x"},
            "CJS",
            {"daily_cap": "error_cap_range"},
        ),
        (
            {"action": "explode", "daily_cap": "3", "note": "x", "current_level": "normal"},
            "CJS",
            {"action": "error_unknown_action"},
        ),
        (
            {"action": "set_cap", "daily_cap": "3", "note": "x", "current_level": "closed"},
            "CJS",
            {"current_level": "error_unknown_level"},
        ),
        (
            {"action": "suspend", "daily_cap": "3", "note": "x" * 501},
            "CJS",
            {"note": "error_note_too_long"},
        ),
        (
            {"action": "suspend", "daily_cap": "3", "note": "x"},
            "XXX",
            {"location": "error_unknown_location"},
        ),
    ],
)
def test_a_wrong_status_form_says_which_field_is_wrong(
    form: dict[str, str], location: str, problems: dict[str, str]
) -> None:
    assert actions.status_change(form, location, "ana", NOW, REFERENCE) == actions.Invalid(problems)


def test_beds_and_departures_name_the_shelter_location_and_reporter() -> None:
    shelter = REFERENCE.shelters_at("CJS")[0]
    beds = actions.beds_update({"shelter_id": shelter.id, "beds": "80"}, "beto", NOW, REFERENCE)
    assert isinstance(beds, actions.Outgoing)
    assert beds.topic == "capacity-updated"
    assert (beds.envelope.data.location, beds.envelope.data.beds) == ("CJS", 80)
    assert (beds.envelope.data.reported_by, beds.envelope.correlation_id) == ("beto", shelter.id)
    left = actions.departure({"shelter_id": shelter.id, "group_id": "G-1"}, "beto", NOW, REFERENCE)
    assert isinstance(left, actions.Outgoing)
    assert left.topic == "shelter-departed"
    assert (left.envelope.data.group_id, left.envelope.correlation_id) == ("G-1", "G-1")


def test_wrong_shelter_forms_are_refused_field_by_field() -> None:
    assert actions.beds_update({"shelter_id": "CJS-S99", "beds": "x"}, "b", NOW, REFERENCE) == (
        actions.Invalid({"shelter_id": "error_unknown_shelter", "beds": "error_beds_range"})
    )
    shelter = REFERENCE.shelters_at("TIJ")[0].id
    assert actions.departure({"shelter_id": shelter, "group_id": ""}, "b", NOW, REFERENCE) == (
        actions.Invalid({"group_id": "error_group_id"})
    )
