"""The ISO code checks used for languages (ISO 639-3) and nationalities (ISO 3166-1 alpha-3)."""

import pytest

from services.reference import is_iso639_3, is_iso3166_alpha3


@pytest.mark.parametrize(
    "code",
    [
        "spa",
        "eng",
        "mam",
        "quc",
        "kjb",
        "ixl",
        "cak",
        "kek",
        "cab",
        "miq",
        "tzo",
        "tzh",
        "nhe",
        "hat",
    ],
)
def test_real_iso639_3_codes_are_accepted(code: str) -> None:
    assert is_iso639_3(code)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("xxx", "not assigned"),
        ("mol", "retired (merged into ron)"),
        ("fre", "ISO 639-2/B bibliographic, not ISO 639-3"),
        ("qaa", "reserved for local use"),
        ("nah", "ISO 639-2 collective code; ISO 639-3 codes each Nahuatl variety (nhe, ngu...)"),
        ("SPA", "upper case"),
        ("Spa", "mixed case"),
        ("es", "ISO 639-1"),
        ("spa ", "trailing space"),
        ("", "empty"),
    ],
)
def test_anything_else_is_not_an_iso639_3_code(code: str, why: str) -> None:
    assert not is_iso639_3(code), why


@pytest.mark.parametrize("code", ["HND", "GTM", "SLV", "MEX", "VEN", "CUB", "HTI", "USA"])
def test_real_iso3166_alpha3_codes_are_accepted(code: str) -> None:
    assert is_iso3166_alpha3(code)


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("XXX", "not assigned"),
        ("hnd", "lower case"),
        ("Hnd", "mixed case"),
        ("HN", "alpha-2"),
        ("340", "numeric"),
        ("HND\n", "trailing newline"),
        ("", "empty"),
    ],
)
def test_anything_else_is_not_an_iso3166_alpha3_code(code: str, why: str) -> None:
    assert not is_iso3166_alpha3(code), why
