"""The screening rules of rule set 2021-12, table by table from the contract."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from schemas.decisions import Screened
from schemas.person import PersonReturned
from services.screening.rules import age_on, decide_group
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import returned

RULES = load_rule_set("2021-12")
FAMILY = "G-2026-000123"


def decide(*members: PersonReturned) -> Screened:
    return decide_group(members, RULES)


def reasons_of(screened: Screened) -> list[tuple[str | None, str]]:
    return [(reason.case_id, reason.code) for reason in screened.reasons]


def flags_of(screened: Screened) -> dict[str, list[str]]:
    return {member.case_id: list(member.flags) for member in screened.members}


# The López Pérez family from Honduras, returned together at El Paso.
def mother(**overrides: Any) -> PersonReturned:
    return returned("A212345678", **{"group_size": 3, **overrides})


def son(**overrides: Any) -> PersonReturned:
    fields: dict[str, Any] = {
        "given_names": "Kevin Josué",
        "born": "2015-06-14",
        "sex": "M",
        "role": "child",
        "group_size": 3,
        **overrides,
    }
    return returned("A212345679", **fields)


def daughter(**overrides: Any) -> PersonReturned:
    fields: dict[str, Any] = {
        "given_names": "Daniela",
        "born": "2019-09-03",
        "role": "child",
        "group_size": 3,
        **overrides,
    }
    return returned("A212345680", **fields)


# A Guatemalan K'iche' speaker returned alone at San Ysidro.
def kiche_speaker(**overrides: Any) -> PersonReturned:
    fields: dict[str, Any] = {
        "given_names": "Tomás",
        "family_names": "Tzoc Ixcoy",
        "born": "1988-04-19",
        "sex": "M",
        "nationality": "GTM",
        "languages": ["quc", "spa"],
        "group_id": "A209876543",
        "crossing": "SAN",
        "returned_at": "2026-11-27T10:12:00-08:00",
        "source": "cbp-san",
        **overrides,
    }
    return returned("A209876543", **fields)


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        pytest.param(date(2008, 11, 27), date(2026, 11, 27), 18, id="on the 18th birthday: 18"),
        pytest.param(date(2008, 11, 28), date(2026, 11, 27), 17, id="eve of the 18th birthday"),
        pytest.param(date(1966, 11, 27), date(2026, 11, 27), 60, id="on the 60th birthday: 60"),
        pytest.param(date(1966, 12, 1), date(2026, 11, 27), 59, id="a month later in the year"),
        pytest.param(date(2026, 11, 27), date(2026, 11, 27), 0, id="born that very day"),
        pytest.param(
            date(2008, 2, 29), date(2026, 2, 28), 17, id="29 Feb born, 28 Feb common year"
        ),
        pytest.param(date(2008, 2, 29), date(2026, 3, 1), 18, id="29 Feb born, 1 Mar common year"),
        pytest.param(date(2008, 2, 29), date(2028, 2, 28), 19, id="29 Feb born, 28 Feb leap year"),
        pytest.param(date(2008, 2, 29), date(2028, 2, 29), 20, id="29 Feb born, 29 Feb leap year"),
    ],
)
def test_a_person_reaches_an_age_on_their_birthday(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


def test_an_age_before_birth_is_an_error() -> None:
    with pytest.raises(ValueError, match="after the date"):
        age_on(date(2026, 11, 28), date(2026, 11, 27))


@pytest.mark.parametrize(
    ("born", "returned_at", "flags"),
    [
        pytest.param("2008-11-27", "2026-11-27T08:00:00-07:00", [], id="18 on the day: adult"),
        pytest.param(
            "2008-11-28", "2026-11-27T15:58:00-07:00", ["UNACCOMPANIED_MINOR"], id="17, alone"
        ),
        pytest.param(
            "2008-11-28",
            "2026-11-27T23:30:00-07:00",
            ["UNACCOMPANIED_MINOR"],
            id="23:30 at -07:00 is the 27th locally though the 28th in UTC: still 17",
        ),
        pytest.param(
            "1966-11-27", "2026-11-27T08:00:00-07:00", ["OLDER_PERSON"], id="60 on the day"
        ),
        pytest.param("1966-11-28", "2026-11-27T15:58:00-07:00", [], id="59, eve of 60th birthday"),
        pytest.param(
            "1966-11-28",
            "2026-11-27T23:30:00-07:00",
            [],
            id="60th birthday already in UTC but not locally: 59",
        ),
        pytest.param(
            "2008-02-29",
            "2026-02-28T11:00:00-07:00",
            ["UNACCOMPANIED_MINOR"],
            id="born 29 Feb, returned 28 Feb of a common year: 17",
        ),
        pytest.param(
            "2008-02-29", "2026-03-01T11:00:00-07:00", [], id="born 29 Feb, returned 1 Mar: 18"
        ),
        pytest.param(
            "1968-02-29",
            "2028-02-29T11:00:00-07:00",
            ["OLDER_PERSON"],
            id="born 29 Feb, returned 29 Feb of a leap year: 60",
        ),
    ],
)
def test_age_flags_count_on_the_local_date_of_return(
    born: str, returned_at: str, flags: list[str]
) -> None:
    person = returned(born=born, returned_at=returned_at)

    screened = decide(person)

    assert flags_of(screened) == {person.case_id: flags}
    assert screened.decision == ("declined" if flags else "accepted")


@pytest.mark.parametrize(
    ("declaration", "flag"),
    [
        pytest.param("pregnant", "PREGNANT", id="pregnant"),
        pytest.param("physical_illness", "PHYSICAL_ILLNESS", id="physical illness"),
        pytest.param("mental_illness", "MENTAL_ILLNESS", id="mental illness"),
        pytest.param("disability", "DISABILITY", id="disability"),
        pytest.param("lgbti", "LGBTI", id="LGBTI"),
    ],
)
def test_each_declared_vulnerability_declines_the_whole_family(declaration: str, flag: str) -> None:
    screened = decide(mother(**{declaration: True}), son(), daughter())

    assert screened.decision == "declined"
    assert reasons_of(screened) == [("A212345678", flag)]
    assert flags_of(screened) == {"A212345678": [flag], "A212345679": [], "A212345680": []}


@pytest.mark.parametrize(
    ("languages", "flagged"),
    [
        pytest.param(["mam"], True, id="Mam only: flagged"),
        pytest.param(["mam", "spa"], False, id="Mam and Spanish: not flagged"),
        pytest.param(["quc", "kjb"], True, id="K'iche' and Q'anjob'al, no Spanish: flagged"),
        pytest.param(["spa", "mam"], False, id="Spanish preferred, also Mam: not flagged"),
        pytest.param(["eng"], False, id="English only: not indigenous"),
    ],
)
def test_monolingual_indigenous_means_every_language_listed_is_indigenous(
    languages: list[str], flagged: bool
) -> None:
    person = returned(
        given_names="Juana", family_names="Ramírez Mendoza", nationality="GTM", languages=languages
    )

    screened = decide(person)

    assert flags_of(screened) == {person.case_id: ["MONOLINGUAL_INDIGENOUS"] if flagged else []}


MINOR: dict[str, Any] = {
    "given_names": "Brayan Josué",
    "family_names": "Mejía",
    "born": "2010-02-14",
    "sex": "M",
}
COUSIN: dict[str, Any] = {
    "given_names": "Wilmer",
    "family_names": "Mejía Cruz",
    "born": "1999-07-30",
    "sex": "M",
}
TRAVELLING_ALONE: dict[str, Any] = {"travelling_without_parent_or_guardian": True}


@pytest.mark.parametrize(
    ("members", "decision", "reasons"),
    [
        pytest.param(
            [returned("A201000001", **MINOR)],
            "declined",
            [("A201000001", "UNACCOMPANIED_MINOR")],
            id="a lone minor is declined",
        ),
        pytest.param(
            [mother(), son(), daughter()],
            "accepted",
            [],
            id="minors with their mother are accepted",
        ),
        pytest.param(
            [
                returned("A201000001", group_size=2, **MINOR, **TRAVELLING_ALONE),
                returned("A201000002", group_size=2, **COUSIN),
            ],
            "declined",
            [("A201000001", "UNACCOMPANIED_MINOR")],
            id="a minor without parent or guardian is unaccompanied even beside an adult cousin",
        ),
        pytest.param(
            [
                returned("A201000001", group_size=2, **MINOR),
                returned("A201000002", group_size=2, **{**MINOR, "born": "2012-05-20"}),
            ],
            "declined",
            [("A201000001", "UNACCOMPANIED_MINOR"), ("A201000002", "UNACCOMPANIED_MINOR")],
            id="two minors with no adult are both unaccompanied",
        ),
        pytest.param(
            [
                returned("A215550001", nationality="GTM", group_size=2, pregnant=True),
                returned("A215550002", nationality="MEX", group_size=2, sex="M", role="partner"),
            ],
            "not_eligible",
            [("A215550002", "MEXICAN_NATIONAL")],
            id="a family with one Mexican member is not eligible; only that flag is a reason",
        ),
        pytest.param(
            [mother(fear_of_return_to_mexico=True), son(disability=True), daughter()],
            "declined",
            [("A212345679", "DISABILITY")],
            id="fear of return with a vulnerability: declined wins, fear is no reason",
        ),
        pytest.param(
            [mother(fear_of_return_to_mexico=True), son(fear_of_return_to_mexico=True), daughter()],
            "referred",
            [("A212345678", "FEAR_OF_RETURN"), ("A212345679", "FEAR_OF_RETURN")],
            id="fear of return alone is referred, one reason per member who declared it",
        ),
        pytest.param(
            [mother(), son()],
            "referred",
            [(None, "GROUP_INCOMPLETE")],
            id="two of three members arrived: referred as incomplete",
        ),
        pytest.param(
            [mother(), son(fear_of_return_to_mexico=True)],
            "referred",
            [(None, "GROUP_INCOMPLETE"), ("A212345679", "FEAR_OF_RETURN")],
            id="incomplete with fear: both reasons, the group-wide one first",
        ),
        pytest.param(
            [mother(pregnant=True), son()],
            "declined",
            [("A212345678", "PREGNANT")],
            id="incomplete with a flagged member: declined, no GROUP_INCOMPLETE",
        ),
        pytest.param(
            [returned(languages=["mam"], nationality="GTM", born="1960-01-05", lgbti=True)],
            "declined",
            [
                ("A212345678", "LGBTI"),
                ("A212345678", "MONOLINGUAL_INDIGENOUS"),
                ("A212345678", "OLDER_PERSON"),
            ],
            id="every flag of a declined member is a reason, sorted by code",
        ),
    ],
)
def test_one_decision_for_the_whole_group(
    members: list[PersonReturned], decision: str, reasons: list[tuple[str | None, str]]
) -> None:
    screened = decide(*members)

    assert screened.decision == decision
    assert reasons_of(screened) == reasons


def test_a_not_eligible_group_still_shows_every_members_flags() -> None:
    screened = decide(
        returned("A215550001", nationality="GTM", group_size=2, pregnant=True),
        returned("A215550002", nationality="MEX", group_size=2, sex="M", role="partner"),
    )

    assert flags_of(screened) == {"A215550001": ["PREGNANT"], "A215550002": ["MEXICAN_NATIONAL"]}


def test_an_accepted_member_needs_legal_aid_and_what_their_record_shows() -> None:
    screened = decide(kiche_speaker(doses=0))

    assert screened.decision == "accepted"
    [member] = screened.members
    assert member.needs == ["covid_vaccination", "interpreter", "legal_aid"]
    assert member.interpreter_language == "quc"


@pytest.mark.parametrize(
    ("languages", "doses", "needs", "interpreter"),
    [
        pytest.param(["spa"], 1, ["legal_aid"], None, id="Spanish, vaccinated: legal aid only"),
        pytest.param(["spa"], 0, ["covid_vaccination", "legal_aid"], None, id="no dose: vaccine"),
        pytest.param(["spa", "quc"], 2, ["legal_aid"], None, id="prefers Spanish: no interpreter"),
        pytest.param(
            ["quc", "spa"], 1, ["interpreter", "legal_aid"], "quc", id="prefers K'iche': quc"
        ),
        pytest.param(["hat"], 3, ["interpreter", "legal_aid"], "hat", id="Haitian Creole: hat"),
    ],
)
def test_needs_of_an_accepted_member(
    languages: list[str], doses: int, needs: list[str], interpreter: str | None
) -> None:
    [member] = decide(kiche_speaker(languages=languages, doses=doses)).members

    assert (member.needs, member.interpreter_language) == (needs, interpreter)


def test_members_of_a_group_not_accepted_have_no_needs() -> None:
    screened = decide(kiche_speaker(doses=0, fear_of_return_to_mexico=True))

    assert screened.decision == "referred"
    assert [(m.needs, m.interpreter_language) for m in screened.members] == [([], None)]


def test_members_are_listed_once_each_by_case_id() -> None:
    screened = decide(daughter(), mother(), son(), mother(returned_at="2026-11-27T16:20:00-07:00"))

    assert [m.case_id for m in screened.members] == ["A212345678", "A212345679", "A212345680"]


@pytest.mark.parametrize(
    "resent_first",
    [pytest.param(False, id="original first"), pytest.param(True, id="resent first")],
)
def test_a_resent_record_counts_once_and_the_earliest_is_kept(resent_first: bool) -> None:
    original = mother(group_size=1)
    resent = mother(
        group_size=1,
        returned_at="2026-11-27T16:20:00-07:00",
        submission_id="inm-cjs-2026-11-27-0042",
        pregnant=True,
    )
    members = [resent, original] if resent_first else [original, resent]

    screened = decide(*members)

    assert (screened.decision, flags_of(screened)) == ("accepted", {"A212345678": []})


def test_records_at_the_same_instant_keep_the_smallest_submission_id() -> None:
    first = mother(group_size=1, submission_id="cbp-elp-2026-11-27-000981")
    second = mother(group_size=1, submission_id="cbp-elp-2026-11-27-000982", pregnant=True)

    assert decide(second, first) == decide(first, second)
    assert decide(second, first).decision == "accepted"


def test_the_decision_carries_what_placement_and_notify_read() -> None:
    screened = decide(
        mother(hearing_at="2027-01-12T09:00:00-07:00"),
        son(returned_at="2026-11-27T16:40:00-06:00", hearing_at="2027-01-05T10:00:00-06:00"),
        daughter(group_size=4),
    )

    assert screened.group_id == FAMILY
    assert screened.rule_set == "2021-12"
    assert screened.group_size == 4  # the largest any member declared
    # 16:40 at -06:00 is 15:40 at -07:00: the son came first, with his own offset.
    assert screened.returned_at is not None
    assert screened.returned_at.isoformat() == "2026-11-27T16:40:00-06:00"
    assert screened.earliest_hearing_at == datetime.fromisoformat("2027-01-05T10:00:00-06:00")


def test_a_group_without_hearings_has_no_earliest_hearing() -> None:
    assert decide(mother(), son(), daughter()).earliest_hearing_at is None


def test_no_members_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        decide_group([], RULES)


def test_members_of_two_groups_are_an_error() -> None:
    with pytest.raises(ValueError, match=r"G-2026-000123, G-2026-000124"):
        decide(mother(), son(group_id="G-2026-000124"))
