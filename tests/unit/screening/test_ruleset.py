"""Rule sets are data: the shipped 2021-12 file, what-if copies, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.screening.rules import decide_group
from services.screening.ruleset import RULE_SETS_DIR, RuleSet, RuleSetError, load_rule_set
from tests.unit.screening.factories import returned

SHIPPED = RULE_SETS_DIR / "2021-12.toml"
CONTRACT_INDIGENOUS = {"quc", "mam", "kjb", "ixl", "cak", "kek", "cab", "miq", "nah", "tzo", "tzh"}


def test_the_shipped_rule_set_is_the_contracts() -> None:
    rules = load_rule_set("2021-12")

    assert rules.name == "2021-12"
    assert (rules.adult_age, rules.older_person_age) == (18, 60)
    assert rules.covid_doses_needed_below == 1
    assert rules.interpreter_unless == ("spa",)
    assert CONTRACT_INDIGENOUS.issubset(rules.indigenous_languages)
    assert "spa" not in rules.indigenous_languages
    assert rules.mexican_nationality == "MEX"


@pytest.mark.parametrize(
    "how",
    [
        pytest.param(SHIPPED, id="a Path"),
        pytest.param(str(SHIPPED), id="a string path"),
    ],
)
def test_a_rule_set_loads_from_a_path_too(how: str | Path) -> None:
    assert load_rule_set(how) == load_rule_set("2021-12")


def test_a_rule_set_cannot_be_changed_once_loaded() -> None:
    rules = load_rule_set("2021-12")

    with pytest.raises(ValidationError, match="frozen"):
        rules.older_person_age = 65  # type: ignore[misc]


def test_an_auditors_what_if_rule_set_changes_the_decision_for_a_62_year_old(
    tmp_path: Path,
) -> None:
    what_if = tmp_path / "older-at-65.toml"
    text = SHIPPED.read_text(encoding="utf-8")
    what_if.write_text(
        text.replace('name = "2021-12"', 'name = "what-if-65"').replace(
            "older_person_age = 60", "older_person_age = 65"
        ),
        encoding="utf-8",
    )
    grandmother = returned(
        given_names="Rosa Amelia", family_names="Castillo Reyes", born="1964-05-11"
    )

    under_2021_12 = decide_group([grandmother], load_rule_set("2021-12"))
    under_what_if = decide_group([grandmother], load_rule_set(what_if))

    assert (under_2021_12.decision, under_2021_12.rule_set) == ("declined", "2021-12")
    assert (under_what_if.decision, under_what_if.rule_set) == ("accepted", "what-if-65")


def test_a_malformed_rule_set_lists_every_problem(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text(
        'name = "broken"\n'
        'adult_age = "18"\n'
        "covid_doses_needed_below = -1\n"
        'interpreter_unless = ["Spanish"]\n'
        'indigenous_languages = ["mam", "mam"]\n'
        'mexican_nationality = "MEX"\n'
        "retirement_age = 65\n",
        encoding="utf-8",
    )

    with pytest.raises(RuleSetError) as caught:
        load_rule_set(broken)

    problems = "\n".join(caught.value.problems)
    assert str(broken) in str(caught.value)
    for expected in (
        "adult_age: Input should be a valid integer",
        "older_person_age is required",
        "covid_doses_needed_below: Input should be greater than or equal to 0",
        "interpreter_unless.0: String should match pattern",
        "indigenous_languages: lists mam more than once",
        "retirement_age is not a known field",
    ):
        assert expected in problems
    assert len(caught.value.problems) == 6
    assert all(problem in str(caught.value) for problem in caught.value.problems)


def test_an_older_person_age_below_adult_age_is_a_problem(tmp_path: Path) -> None:
    swapped = tmp_path / "swapped.toml"
    swapped.write_text(
        SHIPPED.read_text(encoding="utf-8").replace(
            "older_person_age = 60", "older_person_age = 16"
        ),
        encoding="utf-8",
    )

    with pytest.raises(RuleSetError, match="older_person_age must be greater than adult_age"):
        load_rule_set(swapped)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("name = \n", "not valid TOML", id="not TOML"),
        pytest.param("", "name is required", id="empty file"),
    ],
)
def test_an_unreadable_rule_set_is_a_rule_set_error(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(RuleSetError, match=message):
        load_rule_set(path)


def test_a_missing_file_is_a_rule_set_error(tmp_path: Path) -> None:
    with pytest.raises(RuleSetError, match="does not exist"):
        load_rule_set(tmp_path / "nowhere.toml")


@pytest.mark.parametrize("name", ["2019-01", "2021-12 ", "2021_12"])
def test_an_unknown_name_lists_the_shipped_rule_sets(name: str) -> None:
    with pytest.raises(RuleSetError, match=r"shipped: .*2021-12"):
        load_rule_set(name)


def test_a_shipped_file_must_carry_its_own_name(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "2022-08.toml").write_text(SHIPPED.read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.setattr("services.screening.ruleset.RULE_SETS_DIR", tmp_path)

    with pytest.raises(RuleSetError, match='name is "2021-12" but the file is named for "2022-08"'):
        load_rule_set("2022-08")


def test_rule_sets_are_plain_values() -> None:
    rules = load_rule_set("2021-12")

    assert RuleSet.model_validate(rules.model_dump()) == rules
    assert hash(rules) == hash(load_rule_set("2021-12"))
