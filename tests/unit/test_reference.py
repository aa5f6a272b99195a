"""The shipped reference data holds the contract's facts, and broken data is refused clearly."""

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.reference import (
    DEFAULT_DATA_DIR,
    Reference,
    ReferenceDataError,
    load_reference,
)

RETURN_POINTS = ("TIJ", "MXL", "NOG", "CJS", "PDS", "NLD", "MAM")
ALL_LOCATIONS = (*RETURN_POINTS, "MTY")
MAYAN = {"mam", "quc", "kjb"}


@pytest.fixture(scope="module")
def reference() -> Reference:
    return load_reference()


# --- The shipped data -------------------------------------------------------------------


def test_the_seven_designated_crossings_are_those_of_the_contract(reference: Reference) -> None:
    assert {(c.code, c.us_port, c.location) for c in reference.crossings} == {
        ("SAN", "San Ysidro / San Diego", "TIJ"),
        ("CXL", "Calexico", "MXL"),
        ("OLS", "Nogales, AZ", "NOG"),
        ("ELP", "El Paso", "CJS"),
        ("EGP", "Eagle Pass", "PDS"),
        ("LRD", "Laredo", "NLD"),
        ("BRO", "Brownsville", "MAM"),
    }
    assert reference.crossing_codes == {"SAN", "CXL", "OLS", "ELP", "EGP", "LRD", "BRO"}


@pytest.mark.parametrize(
    ("code", "city", "state", "advisory", "alternate"),
    [
        ("TIJ", "Tijuana", "Baja California", 3, None),
        ("MXL", "Mexicali", "Baja California", 3, None),
        ("NOG", "Nogales", "Sonora", 3, None),
        ("CJS", "Ciudad Juárez", "Chihuahua", 3, None),
        ("PDS", "Piedras Negras", "Coahuila", 2, None),
        ("NLD", "Nuevo Laredo", "Tamaulipas", 4, "MTY"),
        ("MAM", "Matamoros", "Tamaulipas", 4, "MTY"),
        ("MTY", "Monterrey", "Nuevo León", 2, None),
    ],
)
def test_locations_match_the_contract(
    reference: Reference,
    code: str,
    city: str,
    state: str,
    advisory: int,
    alternate: str | None,
) -> None:
    location = reference.location(code)
    assert (location.city, location.state) == (city, state)
    assert location.us_advisory_level_2022 == advisory
    assert location.alternate == alternate


def test_laredo_returns_to_nuevo_laredo_with_monterrey_as_alternate(reference: Reference) -> None:
    nuevo_laredo = reference.location_for_crossing("LRD")
    assert nuevo_laredo.code == "NLD"
    assert nuevo_laredo.return_point
    assert nuevo_laredo.alternate == "MTY"


def test_monterrey_only_receives_groups_rerouted_from_tamaulipas(reference: Reference) -> None:
    assert not reference.location("MTY").return_point
    assert "MTY" not in {crossing.location for crossing in reference.crossings}
    assert {loc.code for loc in reference.locations if loc.alternate == "MTY"} == {"NLD", "MAM"}


def test_every_location_starts_normal_with_a_cap_of_about_30(reference: Reference) -> None:
    assert {loc.code for loc in reference.locations} == set(ALL_LOCATIONS)
    for location in reference.locations:
        assert location.security_status == "normal"
        assert 25 <= location.daily_reception_cap <= 35


def test_tijuana_has_about_26_shelters_one_only_for_unaccompanied_children(
    reference: Reference,
) -> None:
    shelters = reference.shelters_at("TIJ")
    assert 24 <= len(shelters) <= 28
    assert [s.serves for s in shelters].count("unaccompanied_children") == 1


def test_ciudad_juarez_has_about_15_shelters_plus_the_largest_federal_one(
    reference: Reference,
) -> None:
    shelters = reference.shelters_at("CJS")
    federal = [s for s in shelters if s.operator == "federal"]
    assert len(federal) == 1
    assert 13 <= len(shelters) - 1 <= 17
    assert max(shelters, key=lambda s: s.beds) == federal[0]
    assert federal[0].name == "Centro Integrador para el Migrante Leona Vicario"


def test_mexicali_has_about_a_thousand_beds(reference: Reference) -> None:
    assert abs(sum(s.beds for s in reference.shelters_at("MXL")) - 1000) <= 100


def test_only_tijuana_has_a_shelter_for_unaccompanied_children(reference: Reference) -> None:
    children = [s for s in reference.shelters if s.serves == "unaccompanied_children"]
    assert [s.location for s in children] == ["TIJ"]


@pytest.mark.parametrize("code", ALL_LOCATIONS)
def test_every_location_can_shelter_families_and_adults(reference: Reference, code: str) -> None:
    assert any(s.serves == "families_and_adults" for s in reference.shelters_at(code))


def test_shelters_are_listed_by_id_and_named_after_their_location(reference: Reference) -> None:
    for code in ALL_LOCATIONS:
        ids = [s.id for s in reference.shelters_at(code)]
        assert ids == sorted(ids)
        assert all(shelter_id.startswith(f"{code}-S") for shelter_id in ids)


@pytest.mark.parametrize("code", ALL_LOCATIONS)
def test_every_location_has_two_to_four_legal_aid_providers_speaking_spanish(
    reference: Reference, code: str
) -> None:
    providers = reference.legal_aid_at(code)
    assert 2 <= len(providers) <= 4
    assert all("spa" in p.languages for p in providers)
    assert all(p.id.startswith(f"LA-{code}-") for p in providers)


def test_a_few_providers_work_in_mayan_languages_and_one_in_haitian_creole(
    reference: Reference,
) -> None:
    mayan = [p for p in reference.legal_aid_providers if MAYAN & set(p.languages)]
    haitian = [p for p in reference.legal_aid_providers if "hat" in p.languages]
    assert 2 <= len(mayan) <= 5
    assert [p.location for p in haitian] == ["TIJ"]


@pytest.mark.parametrize("code", ALL_LOCATIONS)
def test_every_location_has_a_covid_vaccination_provider(reference: Reference, code: str) -> None:
    assert any("covid_vaccination" in p.services for p in reference.health_at(code))


def test_an_undesignated_crossing_is_not_found(reference: Reference) -> None:
    assert "HID" not in reference.crossing_codes
    with pytest.raises(KeyError, match="HID"):
        reference.crossing("HID")
    with pytest.raises(KeyError, match="not a known location"):
        reference.location("ZZZ")


def test_the_reference_data_cannot_be_changed(reference: Reference) -> None:
    with pytest.raises(ValidationError):
        reference.location("TIJ").daily_reception_cap = 500  # type: ignore[misc]


# --- Broken data ------------------------------------------------------------------------

A_SHELTER = """
[[shelter]]
id = "{id}"
name = "Albergue de Prueba"
location = "{location}"
beds = {beds}
serves = "families_and_adults"
operator = "civil_society"
"""


def copy_with(tmp_path: Path, file: str, *, append: str = "", replace: str = "") -> Path:
    """A copy of the shipped data with `append` added to `file`, or its text replaced."""
    directory = tmp_path / "data"
    shutil.copytree(DEFAULT_DATA_DIR, directory)
    path = directory / file
    path.write_text(replace or path.read_text(encoding="utf-8") + append, encoding="utf-8")
    return directory


def problems_in(directory: Path) -> tuple[str, ...]:
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(directory)
    return caught.value.problems


def test_a_negative_number_of_beds_is_refused(tmp_path: Path) -> None:
    shelter = A_SHELTER.format(id="TIJ-S99", location="TIJ", beds=-3)
    directory = copy_with(tmp_path, "shelters.toml", append=shelter)
    assert problems_in(directory) == (
        'shelters.toml: shelter "TIJ-S99": beds must be greater than 0 (got -3)',
    )


def test_a_shelter_at_an_unknown_location_is_refused(tmp_path: Path) -> None:
    shelter = A_SHELTER.format(id="XYZ-S01", location="XYZ", beds=40)
    directory = copy_with(tmp_path, "shelters.toml", append=shelter)
    assert problems_in(directory) == (
        'shelters.toml: shelter "XYZ-S01": location "XYZ" is not a location in locations.toml',
    )


def test_a_duplicate_shelter_id_is_refused(tmp_path: Path) -> None:
    shelter = A_SHELTER.format(id="TIJ-S01", location="TIJ", beds=40)
    directory = copy_with(tmp_path, "shelters.toml", append=shelter)
    count = len(load_reference().shelters)
    assert problems_in(directory) == (
        f'shelters.toml: shelter "TIJ-S01": id must be unique but is used by entries'
        f" #1, #{count + 1}",
    )


def test_an_unknown_language_code_is_refused(tmp_path: Path) -> None:
    provider = """
[[provider]]
id = "LA-TIJ-09"
name = "Clínica de Prueba"
location = "TIJ"
languages = ["spa", "xxx"]
"""
    directory = copy_with(tmp_path, "legal_aid_providers.toml", append=provider)
    assert problems_in(directory) == (
        'legal_aid_providers.toml: provider "LA-TIJ-09": languages[1] must be an ISO 639-3 '
        'language code (got "xxx")',
    )


def test_malformed_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    directory = copy_with(tmp_path, "shelters.toml", append="\n[[shelter\n")
    (problem,) = problems_in(directory)
    assert problem.startswith("shelters.toml: the file is not valid TOML (")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    directory = copy_with(tmp_path, "health_providers.toml")
    (directory / "health_providers.toml").unlink()
    assert problems_in(directory) == ("health_providers.toml: the file is missing",)


def test_a_crossing_cannot_return_people_to_monterrey(tmp_path: Path) -> None:
    crossing = '\n[[crossing]]\ncode = "HID"\nus_port = "Hidalgo"\nlocation = "MTY"\n'
    directory = copy_with(tmp_path, "crossings.toml", append=crossing)
    assert problems_in(directory) == (
        'crossings.toml: crossing "HID": location "MTY" is not a return point',
    )


@pytest.mark.parametrize(
    ("alternate", "problem"),
    [
        ("TIJ", 'alternate "TIJ" must not be a return point'),
        ("NLD", 'alternate "NLD" must not be the location itself'),
        ("SAL", 'alternate "SAL" is not a location'),
    ],
)
def test_an_alternate_must_be_another_location_that_is_not_a_return_point(
    tmp_path: Path, alternate: str, problem: str
) -> None:
    text = (DEFAULT_DATA_DIR / "locations.toml").read_text(encoding="utf-8")
    broken = text.replace('alternate = "MTY"', f'alternate = "{alternate}"', 1)
    directory = copy_with(tmp_path, "locations.toml", replace=broken)
    assert problems_in(directory) == (f'locations.toml: location "NLD": {problem}',)


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    shelter = A_SHELTER.format(id="TIJ-S99", location="XYZ", beds=-3)
    directory = copy_with(tmp_path, "shelters.toml", append=shelter)
    assert problems_in(directory) == (
        'shelters.toml: shelter "TIJ-S99": beds must be greater than 0 (got -3)',
        'shelters.toml: shelter "TIJ-S99": location "XYZ" is not a location in locations.toml',
    )


def test_the_message_lists_each_problem_without_a_pydantic_dump(tmp_path: Path) -> None:
    shelter = A_SHELTER.format(id="TIJ-S98", location="TIJ", beds=0) + 'colour = "blue"\n'
    directory = copy_with(tmp_path, "shelters.toml", append=shelter)
    with pytest.raises(ReferenceDataError) as caught:
        load_reference(directory)
    message = str(caught.value)
    assert message.startswith(f"reference data in {directory} has 2 problems:\n")
    assert '- shelters.toml: shelter "TIJ-S98": beds must be greater than 0 (got 0)' in message
    assert '- shelters.toml: shelter "TIJ-S98": colour is not a known field' in message
    assert "pydantic" not in message
