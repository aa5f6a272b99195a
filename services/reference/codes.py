"""Checks for the ISO codes the contract uses: ISO 639-3 languages, ISO 3166-1 alpha-3 countries."""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

# pycountry matches codes case-insensitively, but the contract spells languages in
# lower case and countries in upper case, so the spelling is checked before the lookup.
_LOWER_ALPHA_3 = re.compile(r"[a-z]{3}", re.ASCII)
_UPPER_ALPHA_3 = re.compile(r"[A-Z]{3}", re.ASCII)


@lru_cache(maxsize=4096)
def is_iso639_3(code: str) -> bool:
    """Tell whether `code` is a current ISO 639-3 language code, in lower case (`spa`, `mam`).

    Retired codes (`mol`), ISO 639-2/B bibliographic codes (`fre`, `ger`), the local-use
    range (`qaa`-`qtz`) and wrong case (`SPA`) are all `False`.
    """
    if not _LOWER_ALPHA_3.fullmatch(code):
        return False
    # pycountry's `languages` database is ISO 639-3; its codes live under `alpha_3`.
    return pycountry.languages.get(alpha_3=code) is not None


@lru_cache(maxsize=1024)
def is_iso3166_alpha3(code: str) -> bool:
    """Tell whether `code` is an ISO 3166-1 alpha-3 country code, in upper case (`HND`, `MEX`).

    Unassigned codes (`XXX`) and wrong case (`hnd`) are `False`.
    """
    if not _UPPER_ALPHA_3.fullmatch(code):
        return False
    return pycountry.countries.get(alpha_3=code) is not None


@lru_cache(maxsize=4096)
def is_known_language(code: str) -> bool:
    """An ISO 639-3 code, or an ISO 639-5 collective code such as `nah` (Nahuatl languages).

    The contract's own indigenous-language list uses `nah`, which is a collective code:
    upstream registration desks record Nahuatl speakers with it, so intake accepts it.
    """
    if is_iso639_3(code):
        return True
    return bool(_LOWER_ALPHA_3.fullmatch(code)) and (
        pycountry.language_families.get(alpha_3=code) is not None
    )
