"""The profile is data: the default loads, an override merges over it, bad values are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.simulator import ProfileError, generate, load_profile
from services.simulator.profile import merged


def test_the_default_profile_weights_el_paso_and_tijuana_highest() -> None:
    profile = load_profile()
    weights = sorted(profile.crossings, key=lambda c: -profile.crossings[c].weight)
    assert set(weights[:2]) == {"ELP", "SAN"}
    assert set(profile.crossings) == {"SAN", "CXL", "OLS", "ELP", "EGP", "LRD", "BRO"}


def test_an_override_changes_only_what_it_names(tmp_path: Path) -> None:
    path = tmp_path / "fearful.toml"
    path.write_text("[declared]\nfear_of_return = 1.0\n")
    profile = load_profile(path)
    assert profile.declared.fear_of_return == 1.0
    assert profile.declared.pregnant == load_profile().declared.pregnant
    heads = [r for r in generate(1, 200, profile=profile) if r["person"]["role_in_group"] == "head"]
    adults = [r for r in heads if not r["declared"]["travelling_without_parent_or_guardian"]]
    assert all(r["declared"]["fear_of_return_to_mexico"] for r in adults)


def test_tables_merge_and_lists_are_replaced() -> None:
    base = {"a": {"x": 1, "y": [1, 2]}, "b": 2}
    assert merged(base, {"a": {"y": [3]}}) == {"a": {"x": 1, "y": [3]}, "b": 2}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[declared]\nfear_of_return = 1.5\n", "declared.fear_of_return"),
        ('[crossings.ELP]\ntimezone = "Mars/Olympus"\n', "IANA time zone"),
        ('[nationalities.XXX]\nshare = 1\nlanguages = [{codes=["spa"], share=1}]\n', "XXX"),
        ('[nationalities.HND]\nlanguages = [{codes=["zzz"], share=1}]\n', "zzz"),
        ("[groups]\nsurprise = 1\n", "groups.surprise"),
        ('[timing]\ndelays = "overnight"\n', "no \\[\\[delays.overnight\\]\\]"),
        ('[[delays.slow]]\nsource = "fax"\nshare = 1\nmin = 0\nmax = "1h"\n', "fax"),
        ('[[delays.slow]]\nsource = "desk"\nshare = 1\nmin = "2h"\nmax = "1h"\n', "min"),
        ('[[delays.slow]]\nsource = "desk"\nshare = 1\nmin = 0\nmax = "soon"\n', "duration"),
        ('[sources]\ndesk = "CBP {crossing}"\n', "source name"),
        ('[sources]\ndesk = "cbp-{port}"\n', "crossing"),
    ],
)
def test_a_bad_override_is_refused_naming_the_value(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=problem):
        load_profile(path)


def test_a_missing_or_broken_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read"):
        load_profile(tmp_path / "absent.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[declared\n")
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(broken)


def test_a_profile_can_add_a_delay_profile_and_rename_sources(tmp_path: Path) -> None:
    path = tmp_path / "night.toml"
    path.write_text(
        '[sources]\nbatch = "night-{crossing}"\n\n'
        '[[delays.night]]\nsource = "batch"\nshare = 1\nmin = "6h"\nmax = "10h"\n'
    )
    profile = load_profile(path)
    assert profile.delays["night"][0].min == 6 * 3600
    assert profile.sources["batch"] == "night-{crossing}"
    assert profile.sources["desk"] == "cbp-{crossing}"
    assert len(profile.delays["realistic"]) == 4
