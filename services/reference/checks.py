"""Checks that span entries and files: unique ids and codes that point at real locations.

They work on the raw entries rather than on validated records, so an entry with a bad
field still has its references checked, and one broken location does not make every
shelter there look orphaned.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.reference.models import Location

LOCATIONS_FILE = "locations.toml"
CROSSINGS_FILE = "crossings.toml"


@dataclass(frozen=True)
class Entry:
    """One `[[table]]` entry of a reference file, as parsed from TOML."""

    file: str
    kind: str
    key: str
    number: int
    data: Mapping[str, object]

    @property
    def ident(self) -> str | None:
        """The entry's id or code, when it has one that is a string."""
        value = self.data.get(self.key)
        return value if isinstance(value, str) else None

    def problem(self, text: str) -> str:
        """A sentence naming the file and the entry, followed by `text`."""
        who = f"#{self.number}" if self.ident is None else f'"{self.ident}"'
        return f"{self.file}: {self.kind} {who}: {text}"

    def text(self, field: str) -> str | None:
        """The value of `field` when it is a string, else None."""
        value = self.data.get(field)
        return value if isinstance(value, str) else None


def cross_reference_problems(
    entries: Mapping[str, Sequence[Entry]], locations: Sequence[Location]
) -> list[str]:
    """Every broken cross-reference among the files' entries, one sentence each.

    `entries` maps each file name to its parsed entries; `locations` holds the
    location records that passed validation.
    """
    problems: list[str] = []
    for file_entries in entries.values():
        problems += _duplicate_ids(file_entries)
    known = {e.ident for e in entries.get(LOCATIONS_FILE, ()) if e.ident is not None}
    for file, file_entries in entries.items():
        if file != LOCATIONS_FILE:
            problems += _unknown_locations(file_entries, known)
    by_code = {location.code: location for location in locations}
    problems += _crossings_to_non_return_points(entries.get(CROSSINGS_FILE, ()), by_code)
    problems += _bad_alternates(entries.get(LOCATIONS_FILE, ()), known, by_code)
    problems += _return_points_without_crossing(entries.get(CROSSINGS_FILE, ()), locations)
    return problems


def _duplicate_ids(entries: Sequence[Entry]) -> list[str]:
    seen: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.ident is not None:
            seen[entry.ident].append(entry)
    problems = []
    for same in seen.values():
        if len(same) > 1:
            numbers = ", ".join(f"#{e.number}" for e in same)
            text = f"{same[0].key} must be unique but is used by entries {numbers}"
            problems.append(same[0].problem(text))
    return problems


def _unknown_locations(entries: Sequence[Entry], known: set[str]) -> list[str]:
    return [
        entry.problem(f'location "{code}" is not a location in {LOCATIONS_FILE}')
        for entry in entries
        if (code := entry.text("location")) is not None and code not in known
    ]


def _crossings_to_non_return_points(
    crossings: Sequence[Entry], locations: Mapping[str, Location]
) -> list[str]:
    problems = []
    for entry in crossings:
        code = entry.text("location")
        if code is not None and code in locations and not locations[code].return_point:
            problems.append(entry.problem(f'location "{code}" is not a return point'))
    return problems


def _bad_alternates(
    entries: Sequence[Entry], known: set[str], locations: Mapping[str, Location]
) -> list[str]:
    problems = []
    for entry in entries:
        code = entry.text("alternate")
        if code is None:
            continue
        if code == entry.ident:
            problems.append(entry.problem(f'alternate "{code}" must not be the location itself'))
        elif code not in known:
            problems.append(entry.problem(f'alternate "{code}" is not a location'))
        elif code in locations and locations[code].return_point:
            problems.append(entry.problem(f'alternate "{code}" must not be a return point'))
    return problems


def _return_points_without_crossing(
    crossings: Sequence[Entry], locations: Sequence[Location]
) -> list[str]:
    if not crossings:  # the crossings file itself is broken, and that is reported already
        return []
    served = {entry.text("location") for entry in crossings}
    return [
        f'{LOCATIONS_FILE}: location "{location.code}": is a return point '
        f"but no crossing in {CROSSINGS_FILE} returns there"
        for location in locations
        if location.return_point and location.code not in served
    ]
