"""The AsyncAPI document, rendered as a page: per topic, its key, single writer, headers
and payload fields. Pure: the parsed document in, rows out.

It reads what an AsyncAPI 3.0 document says (``channels``, ``operations``,
``components``), following local ``$ref`` pointers, and shows only what it finds:
a field or section it does not know is left out, never guessed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    required: bool
    sensitive: bool
    description: str


@dataclass(frozen=True)
class TopicDoc:
    name: str
    description: str
    key: str
    writer: str
    headers: list[str]
    payload_title: str
    fields: list[Field]


def parse(text: str) -> dict[str, Any]:
    # PyYAML ships without type hints; faust depends on it, so it is always there.
    loaded = importlib.import_module("yaml").safe_load(text)
    if not isinstance(loaded, dict):
        raise ValueError("the AsyncAPI document is not a mapping")
    return loaded


def topics(document: dict[str, Any]) -> list[TopicDoc]:
    """One entry per channel, in name order."""
    channels = document.get("channels") or {}
    writers = _writers(document)
    found = []
    for channel_id, raw in channels.items():
        channel = _resolve(document, raw)
        name = str(channel.get("address") or channel_id)
        message = _first_message(document, channel)
        payload = _resolve(document, message.get("payload") or {})
        payload = _data_schema(document, payload)
        found.append(
            TopicDoc(
                name=name,
                description=str(channel.get("description") or channel.get("summary") or ""),
                key=_key(document, channel, message),
                writer=writers.get(channel_id, "") or str(channel.get("x-writer", "")),
                headers=_headers(document, message),
                payload_title=str(payload.get("title") or message.get("name") or ""),
                fields=_fields(document, payload),
            )
        )
    return sorted(found, key=lambda t: t.name)


def _writers(document: dict[str, Any]) -> dict[str, str]:
    """Channel id -> the service of the operation that sends on it."""
    writers: dict[str, str] = {}
    for op_id, raw in (document.get("operations") or {}).items():
        op = _resolve(document, raw)
        if op.get("action") != "send":
            continue
        ref = (op.get("channel") or {}).get("$ref", "")
        channel_id = ref.rsplit("/", 1)[-1]
        writer = op.get("x-single-writer") or op.get("x-writer") or op_id
        writers.setdefault(channel_id, str(writer))
    return writers


def _headers(document: dict[str, Any], message: dict[str, Any]) -> list[str]:
    """Header names of the message and of the traits it takes them from."""
    sources = [message, *(_resolve(document, t) for t in message.get("traits") or [])]
    names: set[str] = set()
    for source in sources:
        names.update(_resolve(document, source.get("headers") or {}).get("properties") or {})
    return sorted(names)


def _first_message(document: dict[str, Any], channel: dict[str, Any]) -> dict[str, Any]:
    messages = channel.get("messages") or {}
    for raw in messages.values():
        return _resolve(document, raw)
    return {}


def _key(document: dict[str, Any], channel: dict[str, Any], message: dict[str, Any]) -> str:
    bindings = _resolve(document, message.get("bindings") or {}).get("kafka") or {}
    key = _resolve(document, bindings.get("key") or {})
    if key:
        return str(key.get("description") or key.get("x-key") or key.get("type") or "")
    return str(channel.get("x-key") or message.get("x-key") or "")


def _data_schema(document: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
    """The envelope's ``data`` schema when the payload is an envelope, else the payload."""
    properties = payload.get("properties") or {}
    if "data" in properties and "event_id" in properties:
        return _resolve(document, properties["data"])
    for part in payload.get("allOf") or []:
        resolved = _data_schema(document, _resolve(document, part))
        if resolved.get("properties"):
            return resolved
    return payload


def _fields(document: dict[str, Any], schema: dict[str, Any]) -> list[Field]:
    required = set(schema.get("required") or [])
    rows = []
    for name, raw in (schema.get("properties") or {}).items():
        prop = _resolve(document, raw)
        rows.append(
            Field(
                name=str(name),
                type=_type_of(document, prop),
                required=name in required,
                sensitive=bool(prop.get("x-sensitive") or raw.get("x-sensitive")),
                description=str(prop.get("description") or ""),
            )
        )
    return rows


def _type_of(document: dict[str, Any], prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " | ".join(str(v) for v in prop["enum"])
    if "const" in prop:
        return str(prop["const"])
    if "type" in prop:
        kind = prop["type"]
        if kind == "array":
            return f"array of {_type_of(document, _resolve(document, prop.get('items') or {}))}"
        return str(kind) + (f" ({prop['format']})" if "format" in prop else "")
    for combinator in ("anyOf", "oneOf"):
        if combinator in prop:
            options = [_type_of(document, _resolve(document, o)) for o in prop[combinator]]
            return " | ".join(options)
    return str(prop.get("title") or "object")


def _resolve(document: dict[str, Any], node: Any, depth: int = 0) -> dict[str, Any]:
    """Follow a local ``$ref`` (``#/a/b``); anything else is returned as it is."""
    if not isinstance(node, dict):
        return {}
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/") or depth > 20:
        return node
    target: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        target = target.get(part) if isinstance(target, dict) else None
    return _resolve(document, target, depth + 1)
