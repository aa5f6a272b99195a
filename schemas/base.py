"""Building blocks shared by every event model: strictness, sensitivity marks, codes."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

SENSITIVE = "x-sensitive"


def sensitive(**kwargs: Any) -> Any:
    """A field holding personal data of a person at risk.

    The mark lands in the JSON Schema (``"x-sensitive": true``) so that partners and
    tooling can see it, and :func:`sensitive_fields` lets code (log filters, tests)
    find every such field without a hand-kept list.
    """
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra[SENSITIVE] = True
    return Field(json_schema_extra=extra, **kwargs)


class Contract(BaseModel):
    """Base of every contract model: strict, frozen, unknown fields rejected."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")


class EventData(Contract):
    """The ``data`` of one event type. Subclasses name their type and version."""

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int] = 1


def sensitive_fields(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Dotted paths of every field marked sensitive in ``model`` and its sub-models."""
    found: list[str] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{name}"
        extra = info.json_schema_extra
        if isinstance(extra, dict) and extra.get(SENSITIVE):
            found.append(path)
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found.extend(sensitive_fields(annotation, prefix=f"{path}."))
    return found


CrossingCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
LocationCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
CaseId = Annotated[str, StringConstraints(pattern=r"^A[0-9]{8,9}$")]
GroupId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{3}$")]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
ShelterId = Annotated[str, StringConstraints(min_length=1, max_length=32)]
