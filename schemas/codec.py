"""Bytes on the wire <-> contract models, with every field error reported at once."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import ValidationError

from schemas.base import EventData
from schemas.envelope import Envelope
from schemas.registry import EVENT_TYPES
from schemas.upcasting import UpcastError, upcast

D = TypeVar("D", bound=EventData)


@dataclass(frozen=True)
class FieldError:
    field: str | None
    code: str
    message: str


class EventValidationError(ValueError):
    """Raised when bytes are not a valid event; ``errors`` lists every problem."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        summary = "; ".join(f"{e.field or '<record>'}: {e.message}" for e in errors)
        super().__init__(f"{len(errors)} problem(s): {summary}")


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Translate pydantic's errors into ours, without echoing the (possibly personal) input."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in err["loc"]) or None
        out.append(FieldError(field=loc, code=str(err["type"]), message=str(err["msg"])))
    return out


def encode(envelope: Envelope[Any]) -> bytes:
    """Deterministic UTF-8 JSON: pydantic's serialiser, field order as declared."""
    return envelope.model_dump_json().encode()


def decode(raw: bytes, expected: type[D]) -> Envelope[D]:
    """Parse an enveloped event of type ``expected``, upcasting old versions first."""
    document = _load_json(raw)
    if document.get("event_type") != expected.EVENT_TYPE:
        got = document.get("event_type")
        raise EventValidationError(
            [
                FieldError(
                    "event_type", "wrong_event_type", f"expected {expected.EVENT_TYPE}, got {got!r}"
                )
            ]
        )
    if document.get("schema_version") != expected.SCHEMA_VERSION:
        try:
            raw = json.dumps(upcast(document, expected.SCHEMA_VERSION)).encode()
        except UpcastError as exc:
            raise EventValidationError([FieldError("schema_version", "upcast", str(exc))]) from None
    try:
        return _envelope_of(expected).model_validate_json(raw)
    except ValidationError as exc:
        raise EventValidationError(field_errors(exc)) from None


@functools.cache
def _envelope_of(model: type[D]) -> type[Envelope[D]]:
    return Envelope[model]  # type: ignore[valid-type]


def decode_any(raw: bytes) -> Envelope[Any]:
    """Parse an enveloped event of whatever registered type it declares."""
    document = _load_json(raw)
    model = EVENT_TYPES.get(str(document.get("event_type")))
    if model is None:
        raise EventValidationError(
            [
                FieldError(
                    "event_type",
                    "unknown_event_type",
                    f"unknown event type {document.get('event_type')!r}",
                )
            ]
        )
    return decode(raw, model)


def decode_data(raw: bytes, model: type[D]) -> D:
    """Parse a bare ``data`` document (a submission body, for example)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise EventValidationError(field_errors(exc)) from None


def _load_json(raw: bytes) -> dict[str, Any]:
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventValidationError(
            [FieldError(None, "invalid_json", f"not UTF-8 JSON: {exc}")]
        ) from None
    if not isinstance(document, dict):
        raise EventValidationError(
            [FieldError(None, "not_an_object", "an event must be a JSON object")]
        )
    return document
