"""Read the reference data files and validate them, reporting every problem at once."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from services.reference.checks import (
    CROSSINGS_FILE,
    LOCATIONS_FILE,
    Entry,
    cross_reference_problems,
)
from services.reference.models import (
    Crossing,
    HealthProvider,
    LegalAidProvider,
    Location,
    Reference,
    Shelter,
)

DEFAULT_DATA_DIR = Path(__file__).with_name("data")
"""The reference files shipped with the package."""

_M = TypeVar("_M", bound=BaseModel)


class ReferenceDataError(ValueError):
    """The reference files are missing, malformed or inconsistent.

    `problems` holds one sentence per problem, each naming the file, the entry and the
    field; the message lists them all.
    """

    def __init__(self, directory: Path, problems: Sequence[str]) -> None:
        self.directory = directory
        self.problems = tuple(problems)
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(f"reference data in {directory} has {count}:\n{lines}")


@dataclass(frozen=True)
class _File(Generic[_M]):
    name: str
    table: str
    key: str
    model: type[_M]


_CROSSINGS = _File(CROSSINGS_FILE, "crossing", "code", Crossing)
_LOCATIONS = _File(LOCATIONS_FILE, "location", "code", Location)
_SHELTERS = _File("shelters.toml", "shelter", "id", Shelter)
_LEGAL_AID = _File("legal_aid_providers.toml", "provider", "id", LegalAidProvider)
_HEALTH = _File("health_providers.toml", "provider", "id", HealthProvider)
_ALL_FILES: tuple[_File[Any], ...] = (_CROSSINGS, _LOCATIONS, _SHELTERS, _LEGAL_AID, _HEALTH)


def load_reference(directory: Path | None = None) -> Reference:
    """Load and check the reference data in `directory` (default: the shipped files).

    Each file, each entry and every cross-reference between them is checked: ids are
    unique, every location named exists, crossings lead to return points and alternates
    are not return points. Raises `ReferenceDataError` listing every problem found.
    """
    directory = DEFAULT_DATA_DIR if directory is None else directory
    problems: list[str] = []
    entries = {file.name: _read_entries(directory, file, problems) for file in _ALL_FILES}

    def validated(file: _File[_M]) -> tuple[_M, ...]:
        return _validate(file, entries[file.name], problems)

    crossings, locations = validated(_CROSSINGS), validated(_LOCATIONS)
    shelters, legal_aid, health = validated(_SHELTERS), validated(_LEGAL_AID), validated(_HEALTH)
    problems += cross_reference_problems(entries, locations)
    if problems:
        raise ReferenceDataError(directory, problems)
    return Reference(
        crossings=crossings,
        locations=locations,
        shelters=shelters,
        legal_aid_providers=legal_aid,
        health_providers=health,
    )


def _read_entries(directory: Path, file: _File[_M], problems: list[str]) -> list[Entry]:
    try:
        document = tomllib.loads((directory / file.name).read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(f"{file.name}: the file is missing")
        return []
    except tomllib.TOMLDecodeError as exc:
        problems.append(f"{file.name}: the file is not valid TOML ({exc})")
        return []
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{file.name}: the file cannot be read ({exc})")
        return []
    for key in sorted(document.keys() - {file.table}):
        problems.append(
            f'{file.name}: unexpected top-level key "{key}" (the file holds [[{file.table}]] only)'
        )
    tables = document.get(file.table)
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(f"{file.name}: entries must be written as [[{file.table}]] tables")
        return []
    if not tables:
        problems.append(f"{file.name}: the file has no [[{file.table}]] entries")
    return [Entry(file.name, file.table, file.key, n, t) for n, t in enumerate(tables, 1)]


def _validate(file: _File[_M], entries: Sequence[Entry], problems: list[str]) -> tuple[_M, ...]:
    records = []
    for entry in entries:
        try:
            records.append(file.model.model_validate(_arrays_as_tuples(entry.data)))
        except ValidationError as exc:
            problems += [entry.problem(_sentence(e)) for e in exc.errors(include_url=False)]
    return tuple(records)


def _arrays_as_tuples(value: object) -> object:
    # The models are strict and hold tuples (they are frozen), while TOML arrays parse as lists.
    if isinstance(value, list):
        return tuple(_arrays_as_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _arrays_as_tuples(item) for key, item in value.items()}
    return value


_SHOULD = re.compile(r"^(?:Input|String|Tuple|List|Value) should ")


def _sentence(error: ErrorDetails) -> str:
    """Rephrase one pydantic error as `field must ... (got value)`."""
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"]).lstrip(".")
    if error["type"] == "missing":
        return f"{field} is required"
    if error["type"] == "extra_forbidden":
        return f"{field} is not a known field"
    message = error["msg"].removeprefix("Value error, ")
    message = _SHOULD.sub("must ", message).replace("a valid tuple", "an array")
    got = json.dumps(error["input"], ensure_ascii=False, default=str)
    return f"{field} {message} (got {got})".lstrip()
