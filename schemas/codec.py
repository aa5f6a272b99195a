"""Bytes on the wire <-> contract models, with every field error reported at once."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from schemas.base import EventData
from schemas.envelope import Envelope
from schemas.registry import EVENT_TYPES
from schemas.upcasting import UpcastError, upcast

D = TypeVar("D", bound=EventData)

_SCHEMA_VERSION = re.compile(rb'"schema_version":\s*(\d+)')
_EVENT_TYPE = re.compile(rb'"event_type":\s*"([a-z0-9-]+)"')
"""Hints read from the bytes to skip work; a parsed model confirms them."""
_LONG_NUMBER = re.compile(rb"[0-9]{19,}")
"""A run of digits that may be an integer past 64 bits, which orjson reads as a float."""


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
    """Parse an enveloped event of type ``expected``, upcasting old versions first.

    A record at the current version is parsed once, straight into the model; anything
    else (an older version, a wrong type, an invalid record) takes the detailed path,
    which upcasts and reports every problem.
    """
    version = _SCHEMA_VERSION.search(raw)
    if version is None or version.group(1) == _version_text(expected):
        try:
            envelope = _envelope_of(expected).model_validate_json(raw)
        except ValidationError:
            pass  # the detailed path says why
        else:
            if (
                envelope.event_type == expected.EVENT_TYPE
                and envelope.schema_version == expected.SCHEMA_VERSION
            ):
                return envelope
    return _decode_in_detail(raw, expected)


def _decode_in_detail(raw: bytes, expected: type[D]) -> Envelope[D]:
    document, exact = _load_json(raw)
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
            raw = _dump_json(upcast(document, expected.SCHEMA_VERSION), exact)
        except UpcastError as exc:
            raise EventValidationError([FieldError("schema_version", "upcast", str(exc))]) from None
    try:
        return _envelope_of(expected).model_validate_json(raw)
    except ValidationError as exc:
        raise EventValidationError(field_errors(exc)) from None


@functools.cache
def _version_text(model: type[EventData]) -> bytes:
    return str(model.SCHEMA_VERSION).encode()


@functools.cache
def _envelope_of(model: type[D]) -> type[Envelope[D]]:
    return Envelope[model]  # type: ignore[valid-type]


def decode_any(raw: bytes) -> Envelope[Any]:
    """Parse an enveloped event of whatever registered type it declares."""
    hint = _EVENT_TYPE.search(raw)
    if hint is not None:
        model = EVENT_TYPES.get(hint.group(1).decode("utf-8", "replace"))
        if model is not None:
            try:
                return decode(raw, model)  # parsed once when the hint was right
            except EventValidationError:
                pass  # the hint may have come from inside `data`: read the document
    document, _ = _load_json(raw)
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


def _load_json(raw: bytes) -> tuple[dict[str, Any], bool]:
    """The document, and whether orjson read it exactly as `json` does (then it may write it).

    orjson is about six times faster; `json` stays for what orjson reads differently or
    not at all (integers past 64 bits, NaN, lone surrogates) and for its error messages.
    """
    exact = _LONG_NUMBER.search(raw) is None
    if exact:
        try:
            document = orjson.loads(raw)
        except orjson.JSONDecodeError:
            exact = False
    if not exact:
        document = _load_json_leniently(raw)
    if not isinstance(document, dict):
        raise EventValidationError(
            [FieldError(None, "not_an_object", "an event must be a JSON object")]
        )
    return document, exact


def _load_json_leniently(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventValidationError(
            [FieldError(None, "invalid_json", f"not UTF-8 JSON: {exc}")]
        ) from None


def _dump_json(document: dict[str, Any], exact: bool) -> bytes:
    """An upcast document as JSON again, by the library that read it (`_load_json`)."""
    if exact:
        try:
            return orjson.dumps(document)
        except TypeError:  # an upcaster put in something orjson does not write
            pass
    return json.dumps(document).encode()
