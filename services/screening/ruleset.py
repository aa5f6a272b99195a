"""Screening rule sets as data: the thresholds and code lists the rules read.

The shipped rule sets live in `rulesets/<name>.toml`. Auditors can load any other file
by path to see what another rule set would have decided (for example `older_person_age
= 65`) without touching the code.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from schemas.base import CountryCode, LanguageCode

RULE_SETS_DIR = Path(__file__).with_name("rulesets")
"""The rule sets shipped with the package, one `<name>.toml` each."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class RuleSet(BaseModel):
    """One named set of screening thresholds and code lists (see `rulesets/2021-12.toml`)."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    name: str = Field(pattern=_NAME.pattern, max_length=64)
    adult_age: int = Field(ge=1, le=150)
    older_person_age: int = Field(ge=1, le=150)
    covid_doses_needed_below: int = Field(ge=0, le=10)
    interpreter_unless: tuple[LanguageCode, ...]
    indigenous_languages: tuple[LanguageCode, ...]
    mexican_nationality: CountryCode

    @field_validator("interpreter_unless", "indigenous_languages")
    @classmethod
    def _no_repeats(cls, codes: tuple[str, ...]) -> tuple[str, ...]:
        # A repeated code is harmless to the rules but usually a typo for another code.
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once")
        return codes

    @model_validator(mode="after")
    def _older_than_adult(self) -> Self:
        if self.older_person_age <= self.adult_age:
            raise ValueError("older_person_age must be greater than adult_age")
        return self


class RuleSetError(ValueError):
    """A rule set is missing, unreadable or malformed; the message lists every problem."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems = tuple(problems)
        lines = "\n".join(f"- {problem}" for problem in self.problems)
        super().__init__(f"rule set {source} cannot be used:\n{lines}")


def load_rule_set(name_or_path: str | Path) -> RuleSet:
    """Load a rule set by name (`"2021-12"`, a shipped file) or from a TOML file's path.

    A `Path`, or a string holding a path separator or ending in `.toml`, is read as a
    path; any other string names a shipped rule set, whose `name` must match its file.
    Raises `RuleSetError` listing every problem found.
    """
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or "/" in text or "\\" in text or text.endswith(".toml"):
        return _load(Path(name_or_path), expected_name=None)
    if not _NAME.fullmatch(text) or not (RULE_SETS_DIR / f"{text}.toml").is_file():
        shipped = ", ".join(sorted(p.stem for p in RULE_SETS_DIR.glob("*.toml")))
        raise RuleSetError(repr(text), [f"no shipped rule set has this name (shipped: {shipped})"])
    return _load(RULE_SETS_DIR / f"{text}.toml", expected_name=text)


def _load(path: Path, expected_name: str | None) -> RuleSet:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RuleSetError(str(path), ["the file does not exist"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleSetError(str(path), [f"the file is not valid TOML ({exc})"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleSetError(str(path), [f"the file cannot be read ({exc})"]) from None
    # The model is strict and frozen (tuples); TOML arrays parse as lists.
    data = {k: tuple(v) if isinstance(v, list) else v for k, v in document.items()}
    try:
        rule_set = RuleSet.model_validate(data)
    except ValidationError as exc:
        problems = [_sentence(error) for error in exc.errors(include_url=False)]
        raise RuleSetError(str(path), problems) from None
    if expected_name is not None and rule_set.name != expected_name:
        problem = f'name is "{rule_set.name}" but the file is named for "{expected_name}"'
        raise RuleSetError(str(path), [problem])
    return rule_set


def _sentence(error: ErrorDetails) -> str:
    """One pydantic error as `field problem (got value)`."""
    field = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if not field:  # a check across fields: its message names them
        return message
    if error["type"] == "missing":
        return f"{field} is required"
    if error["type"] == "extra_forbidden":
        return f"{field} is not a known field"
    got = json.dumps(error["input"], ensure_ascii=False, default=str)
    return f"{field}: {message} (got {got})"
