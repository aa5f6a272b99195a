"""Notify's request rules, from docs/CONTRACT.md "Notify rules"."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.envelope import make_envelope
from services.notify.requests import (
    NoProviderError,
    care_requests_for_placement,
    choose_legal_aid_provider,
    group_language,
    hearing_priority,
    interpreter_required,
    legal_aid_for_placement,
    legal_aid_for_referral,
    request_event_id,
)
from services.reference import load_reference
from tests.unit.notify.notify_factories import (
    DAUGHTER,
    EL_PASO,
    JUAREZ_HEALTH,
    JUAREZ_LEGAL_AID,
    MOTHER,
    PLACED_EVENT_ID,
    SCREENED_EVENT_ID,
    SON,
    health,
    legal_aid,
    member,
    placed,
    referred_for_fear,
    screened,
)

RETURNED = datetime.fromisoformat("2026-11-27T15:58:00-07:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- hearing priority -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hearing", "priority"),
    [
        ("2026-12-11T09:00:00-07:00", "urgent"),  # exactly 14 calendar days
        ("2026-12-11T23:59:00-07:00", "urgent"),  # 14 days, whatever the hour
        ("2026-12-12T08:00:00-07:00", "normal"),  # 15 days, though under 15 x 24 h
        ("2026-11-27T16:30:00-07:00", "urgent"),  # the same day
        ("2026-11-20T09:00:00-07:00", "urgent"),  # already past when returned
        ("2027-01-12T09:00:00-07:00", "normal"),
    ],
)
def test_a_hearing_within_14_calendar_days_of_the_return_is_urgent(
    hearing: str, priority: str
) -> None:
    assert hearing_priority(at(hearing), RETURNED) == priority


def test_no_known_hearing_is_normal() -> None:
    assert hearing_priority(None, RETURNED) == "normal"


def test_days_are_counted_in_the_offset_of_the_return() -> None:
    late_return = at("2026-11-27T23:30:00-07:00")  # already the 28th in UTC
    # 01:00 on the 12th in Eastern time is 23:00 on the 11th at -07:00: 14 days.
    assert hearing_priority(at("2026-12-12T01:00:00-05:00"), late_return) == "urgent"
    assert hearing_priority(at("2026-12-12T06:30:00+00:00"), late_return) == "urgent"
    # 23:30 on the 12th at -08:00 is already the 13th at -07:00: 15 days.
    early_return = at("2026-11-28T00:30:00-07:00")
    assert hearing_priority(at("2026-12-12T23:30:00-08:00"), early_return) == "normal"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        hearing_priority(datetime(2026, 12, 1, 9, 0), RETURNED)


# --- language and interpreters ----------------------------------------------------------


def test_the_group_language_is_the_most_common_interpreter_language() -> None:
    family = screened(
        members=[
            member(MOTHER, interpreter_language="quc"),
            member(SON, interpreter_language="mam"),
            member(DAUGHTER, interpreter_language="mam"),
        ]
    )
    assert group_language(family.members) == "mam"


def test_a_tie_between_languages_goes_to_the_lower_code() -> None:
    family = screened(
        members=[
            member(MOTHER, interpreter_language="quc"),
            member(SON, interpreter_language="kjb"),
            member(DAUGHTER),
        ]
    )
    assert group_language(family.members) == "kjb"


def test_a_group_without_interpreter_needs_speaks_spanish() -> None:
    family = screened()
    assert group_language(family.members) == "spa"
    assert not interpreter_required(family.members)


def test_one_member_needing_an_interpreter_is_enough() -> None:
    family = screened(
        members=[
            member(MOTHER, needs=("interpreter", "legal_aid"), interpreter_language="mam"),
            member(SON),
        ]
    )
    assert interpreter_required(family.members)


# --- choosing a legal-aid provider ------------------------------------------------------


def test_a_provider_speaking_the_language_beats_a_less_loaded_one() -> None:
    juarez = JUAREZ_LEGAL_AID[:3]
    provider, why = choose_legal_aid_provider(juarez, "mam", {"LA-CJS-01": 5})
    assert provider.id == "LA-CJS-01"
    assert why == "covers mam; 5 open requests"


def test_among_speakers_the_least_loaded_wins() -> None:
    open_requests = {"LA-CJS-01": 4, "LA-CJS-02": 2, "LA-CJS-03": 1}
    provider, why = choose_legal_aid_provider(JUAREZ_LEGAL_AID[:3], "eng", open_requests)
    assert provider.id == "LA-CJS-03"
    assert why == "covers eng; 1 open request"


def test_when_nobody_speaks_the_language_the_least_loaded_wins() -> None:
    open_requests = {"LA-CJS-01": 3, "LA-CJS-02": 0, "LA-CJS-03": 2}
    provider, why = choose_legal_aid_provider(JUAREZ_LEGAL_AID[:3], "tzo", open_requests)
    assert provider.id == "LA-CJS-02"
    assert why == "no provider covers tzo; least loaded (0 open requests)"


def test_equal_loads_go_to_the_lowest_provider_id() -> None:
    reversed_order = tuple(reversed(JUAREZ_LEGAL_AID[:3]))
    provider, _ = choose_legal_aid_provider(reversed_order, "spa", {})
    assert provider.id == "LA-CJS-01"


@given(st.permutations(JUAREZ_LEGAL_AID[:3]), st.sampled_from(["spa", "mam", "eng", "tzo"]))
def test_the_choice_does_not_depend_on_the_order_of_providers(
    providers: list[object], language: str
) -> None:
    loads = {"LA-CJS-01": 2, "LA-CJS-02": 1, "LA-CJS-03": 1}
    expected = choose_legal_aid_provider(JUAREZ_LEGAL_AID[:3], language, loads)
    assert choose_legal_aid_provider(providers, language, loads) == expected  # type: ignore[arg-type]


def test_no_provider_at_all_is_an_error() -> None:
    with pytest.raises(NoProviderError):
        choose_legal_aid_provider([], "spa", {})


# --- legal aid for a placed group -------------------------------------------------------


def test_a_placed_group_gets_an_immigration_hearing_request_at_its_location() -> None:
    request = legal_aid_for_placement(placed(), screened(), JUAREZ_LEGAL_AID, {"LA-CJS-01": 1})
    assert request.model_dump() == {
        "group_id": "G-2026-000123",
        "purpose": "immigration_hearing",
        "priority": "normal",
        "provider_id": "LA-CJS-02",
        "provider_choice": "covers spa; 0 open requests",
        "location": "CJS",
        "shelter_id": "CJS-S03",
        "members": [MOTHER, SON, DAUGHTER],
        "earliest_hearing_at": at("2027-01-12T09:00:00-07:00"),
        "preferred_language": "spa",
        "interpreter_required": False,
        "due_by": None,
        "accept_by": None,
        "replaces": None,
        "reassigned_because": None,
    }


def test_a_mam_speaking_family_goes_to_the_provider_working_in_mam_at_its_location() -> None:
    family = screened(
        members=[
            member(MOTHER, needs=("interpreter", "legal_aid"), interpreter_language="mam"),
            member(SON),
            member(DAUGHTER),
        ]
    )
    # LA-TIJ-03 also works in Mam and is idle, but it is in Tijuana.
    loads = {"LA-CJS-01": 7}
    request = legal_aid_for_placement(placed(), family, JUAREZ_LEGAL_AID, loads)
    assert (request.provider_id, request.preferred_language) == ("LA-CJS-01", "mam")
    assert request.interpreter_required


def test_a_hearing_within_two_weeks_makes_the_placement_request_urgent() -> None:
    family = screened(earliest_hearing_at="2026-12-11T09:00:00-07:00")
    assert legal_aid_for_placement(placed(), family, JUAREZ_LEGAL_AID, {}).priority == "urgent"


def test_the_placed_return_time_serves_when_screened_lacks_it() -> None:
    family = screened(returned_at=None, earliest_hearing_at="2026-12-12T09:00:00-07:00")
    request = legal_aid_for_placement(placed(), family, JUAREZ_LEGAL_AID, {})
    assert request.priority == "normal"


def test_a_known_hearing_without_any_return_time_is_urgent() -> None:
    family = screened(returned_at=None)
    request = legal_aid_for_placement(placed(returned_at=None), family, JUAREZ_LEGAL_AID, {})
    assert request.priority == "urgent"


def test_a_location_without_legal_aid_is_an_error() -> None:
    with pytest.raises(NoProviderError, match="CJS"):
        legal_aid_for_placement(placed(), screened(), [legal_aid("LA-TIJ-01", "spa")], {})


def test_placed_and_screened_must_be_the_same_group() -> None:
    with pytest.raises(ValueError, match="different groups"):
        legal_aid_for_placement(placed(group_id="G-2026-000999"), screened(), [], {})


def test_the_shipped_reference_data_serves_every_placement_location() -> None:
    reference = load_reference()
    for location in ("TIJ", "MXL", "NOG", "CJS", "PDS", "NLD", "MAM", "MTY"):
        shelter = f"{location}-S01"
        request = legal_aid_for_placement(
            placed(location=location, shelter_id=shelter),
            screened(),
            reference.legal_aid_providers,
            {},
        )
        assert request.provider_id.startswith(f"LA-{location}-")


# --- legal aid for a referral -----------------------------------------------------------


def test_fear_of_return_gets_an_urgent_interview_request_due_in_24_hours() -> None:
    request = legal_aid_for_referral(
        referred_for_fear(), JUAREZ_LEGAL_AID, {}, at("2026-11-27T16:10:00-07:00"), crossing=EL_PASO
    )
    assert request is not None
    assert request.purpose == "non_refoulement_interview"
    assert request.priority == "urgent"
    assert request.due_by == at("2026-11-28T15:58:00-07:00")
    assert (request.location, request.shelter_id) == ("CJS", None)
    assert request.members == [MOTHER, SON, DAUGHTER]
    assert request.provider_id == "LA-CJS-01"


def test_without_a_return_time_the_interview_is_due_24_hours_after_the_event() -> None:
    event_time = at("2026-11-27T23:10:00+00:00")
    request = legal_aid_for_referral(
        referred_for_fear(returned_at=None), JUAREZ_LEGAL_AID, {}, event_time, crossing=EL_PASO
    )
    assert request is not None
    assert request.due_by == event_time + timedelta(hours=24)


@pytest.mark.parametrize(
    "group",
    [
        pytest.param(
            referred_for_fear(reasons=[{"case_id": None, "code": "GROUP_INCOMPLETE"}]),
            id="referred-only-as-incomplete",
        ),
        pytest.param(screened(), id="accepted"),
        pytest.param(
            screened(
                decision="declined",
                members=[member(MOTHER, needs=(), flags=("PREGNANT",))],
                reasons=[{"case_id": MOTHER, "code": "PREGNANT"}],
            ),
            id="declined",
        ),
    ],
)
def test_no_interview_request_without_fear_of_return(group: object) -> None:
    event_time = at("2026-11-27T16:10:00-07:00")
    assert (
        legal_aid_for_referral(group, JUAREZ_LEGAL_AID, {}, event_time, crossing=EL_PASO)  # type: ignore[arg-type]
        is None
    )


# --- care requests ----------------------------------------------------------------------


def test_each_member_needing_vaccination_gets_a_care_request() -> None:
    family = screened(
        members=[
            member(MOTHER),
            member(SON, needs=("covid_vaccination", "legal_aid")),
            member(DAUGHTER, needs=("covid_vaccination", "legal_aid")),
        ]
    )
    requests = care_requests_for_placement(placed(), family, JUAREZ_HEALTH)
    assert [(r.case_id, r.kind, r.provider_id) for r in requests] == [
        (SON, "covid_vaccination", "HP-CJS-01"),
        (DAUGHTER, "covid_vaccination", "HP-CJS-01"),
    ]
    assert {(r.location, r.shelter_id, r.group_id) for r in requests} == {
        ("CJS", "CJS-S03", "G-2026-000123")
    }


def test_a_fully_vaccinated_family_gets_no_care_request() -> None:
    family = screened(members=[member(c) for c in (MOTHER, SON, DAUGHTER)])
    assert care_requests_for_placement(placed(), family, []) == []


def test_a_location_without_vaccination_is_an_error_when_someone_needs_it() -> None:
    with pytest.raises(NoProviderError, match="covid_vaccination provider at CJS"):
        care_requests_for_placement(placed(), screened(), [health("HP-CJS-02", "primary_care")])


# --- deterministic ids ------------------------------------------------------------------


def test_request_ids_are_the_same_when_the_event_is_processed_again() -> None:
    first = request_event_id("care-requested", PLACED_EVENT_ID, SON)
    assert first == request_event_id("care-requested", PLACED_EVENT_ID, SON)
    others = {
        request_event_id("care-requested", PLACED_EVENT_ID, DAUGHTER),
        request_event_id("care-requested", SCREENED_EVENT_ID, SON),
        request_event_id("legal-aid-requested", PLACED_EVENT_ID, SON),
    }
    assert first not in others
    assert len(others) == 3


def test_request_ids_are_valid_envelope_ids() -> None:
    request = legal_aid_for_placement(placed(), screened(), JUAREZ_LEGAL_AID, {})
    event_id = request_event_id("legal-aid-requested", PLACED_EVENT_ID)
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", event_id)
    envelope = make_envelope(
        request,
        event_id=event_id,
        producer="notify/0.1.0",
        correlation_id=request.group_id,
        causation_id=PLACED_EVENT_ID,
        crossing="ELP",
        occurred_at=at("2026-11-27T16:00:05+00:00"),
    )
    assert envelope.event_id == event_id


def test_an_unknown_request_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="notify writes"):
        request_event_id("legal-aid-request", PLACED_EVENT_ID)
