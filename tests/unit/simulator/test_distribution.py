"""Over 5,000 generated returns, the shares are near the profile's."""

from __future__ import annotations

from datetime import date

from services.simulator import Profile
from services.simulator.tables import Tables
from tests.unit.simulator.conftest import Record, by_group

MAYAN = {"mam", "quc", "kjb", "ixl", "cak", "kek"}


def share(part: int, whole: int) -> float:
    return part / whole


def test_lone_adults_are_the_majority_and_families_near_the_profile(
    five_thousand: list[Record], profile: Profile
) -> None:
    groups = list(by_group(five_thousand).values())
    families = sum(1 for members in groups if members[0]["group_size"] > 1)
    expected = 1 - Tables.of(profile).group_size.share(1)
    assert abs(share(families, len(groups)) - expected) < 0.03
    assert share(len(groups) - families, len(groups)) > 0.5
    assert {members[0]["group_size"] for members in groups} <= {1, 2, 3, 4, 5, 6}


def test_the_share_of_groups_declaring_fear_of_return_is_near_the_profile(
    five_thousand: list[Record], profile: Profile
) -> None:
    groups = list(by_group(five_thousand).values())
    fearful = sum(
        1 for members in groups if any(m["declared"]["fear_of_return_to_mexico"] for m in members)
    )
    assert abs(share(fearful, len(groups)) - profile.declared.fear_of_return) < 0.03


def test_the_mayan_language_share_among_guatemalans_is_near_the_profile(
    five_thousand: list[Record], profile: Profile
) -> None:
    guatemalans = [r for r in five_thousand if r["person"]["nationality"] == "GTM"]
    mayan = sum(1 for r in guatemalans if MAYAN & set(r["person"]["languages"]))
    options = profile.nationalities["GTM"].languages
    expected = sum(o.share for o in options if MAYAN & set(o.codes)) / sum(o.share for o in options)
    assert abs(share(mayan, len(guatemalans)) - expected) < 0.07
    monolingual = sum(1 for r in guatemalans if set(r["person"]["languages"]) <= MAYAN)
    assert monolingual > 0


def test_haitians_speak_haitian_creole_and_some_hondurans_garifuna(
    five_thousand: list[Record],
) -> None:
    haitians = [r for r in five_thousand if r["person"]["nationality"] == "HTI"]
    assert haitians
    assert all("hat" in r["person"]["languages"] for r in haitians)
    hondurans = [r for r in five_thousand if r["person"]["nationality"] == "HND"]
    assert any("cab" in r["person"]["languages"] for r in hondurans)


def test_nationalities_follow_the_profile_and_mexicans_are_few(
    five_thousand: list[Record], profile: Profile
) -> None:
    seen = {r["person"]["nationality"] for r in five_thousand}
    assert seen == set(profile.nationalities)
    mexicans = sum(1 for r in five_thousand if r["person"]["nationality"] == "MEX")
    assert 0 < share(mexicans, len(five_thousand)) < 0.05


def test_about_ninety_percent_of_those_old_enough_are_vaccinated(
    five_thousand: list[Record], profile: Profile
) -> None:
    eligible = [r for r in five_thousand if _age(r) >= profile.covid.min_age]
    vaccinated = sum(1 for r in eligible if r["covid_vaccination"]["doses"] > 0)
    assert abs(share(vaccinated, len(eligible)) - 0.90) < 0.02
    assert all(
        (r["covid_vaccination"]["doses"] == 0) == (r["covid_vaccination"]["last_dose_on"] is None)
        for r in five_thousand
    )


def test_vulnerabilities_occur_but_are_uncommon(five_thousand: list[Record]) -> None:
    for flag in ("pregnant", "physical_illness", "mental_illness", "disability", "lgbti"):
        count = sum(1 for r in five_thousand if r["declared"][flag])
        assert 0 < share(count, len(five_thousand)) < 0.06, flag
    older = sum(1 for r in five_thousand if _age(r) >= 60)
    assert 0.01 < share(older, len(five_thousand)) < 0.06
    pregnant = [r for r in five_thousand if r["declared"]["pregnant"]]
    assert all(r["person"]["sex"] == "F" and 18 <= _age(r) <= 44 for r in pregnant)


def test_unaccompanied_minors_are_rare_and_alone(five_thousand: list[Record]) -> None:
    alone = [r for r in five_thousand if r["declared"]["travelling_without_parent_or_guardian"]]
    assert share(len(alone), len(five_thousand)) < 0.01
    assert all(r["group_size"] == 1 and _age(r) < 18 for r in alone)


def test_hearings_are_mostly_one_to_six_months_out_some_soon_some_unknown(
    five_thousand: list[Record],
) -> None:
    heads = [m[0] for m in by_group(five_thousand).values()]
    unknown = sum(1 for r in heads if r["hearing"] is None)
    days = [
        (date.fromisoformat(r["hearing"]["scheduled_at"][:10]) - _returned_on(r)).days
        for r in heads
        if r["hearing"] is not None
    ]
    soon = sum(1 for d in days if d <= 14)
    assert 0.02 < share(unknown, len(heads)) < 0.12
    assert 0.02 < share(soon, len(days)) < 0.12
    assert all(1 <= d <= 14 or 30 <= d <= 185 for d in days)


def _returned_on(record: Record) -> date:
    return date.fromisoformat(record["returned_at"][:10])


def _age(record: Record) -> int:
    born = date.fromisoformat(record["person"]["date_of_birth"])
    on = _returned_on(record)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
