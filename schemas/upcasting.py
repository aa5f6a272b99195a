"""Upcasters: pure functions that lift a raw event from one schema version to the next.

Readers call :func:`upcast` before validating, so that a replay from the first offset
always yields current models. Register one function per (event type, from-version).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

RawEvent = dict[str, Any]
Upcaster = Callable[[RawEvent], RawEvent]

_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class UpcastError(ValueError):
    pass


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register ``fn`` as the step from ``from_version`` to ``from_version + 1``."""

    def register(fn: Upcaster) -> Upcaster:
        key = (event_type, from_version)
        if key in _UPCASTERS:
            raise ValueError(f"an upcaster for {event_type} v{from_version} already exists")
        _UPCASTERS[key] = fn
        return fn

    return register


def upcast(raw: RawEvent, current_version: int) -> RawEvent:
    """Apply registered steps until ``raw`` is at ``current_version``."""
    event_type = str(raw.get("event_type"))
    version = raw.get("schema_version")
    if not isinstance(version, int) or version < 1:
        raise UpcastError(f"{event_type}: schema_version must be a positive integer")
    if version > current_version:
        raise UpcastError(
            f"{event_type}: schema_version {version} is newer than this reader "
            f"({current_version}); upgrade the reader"
        )
    while version < current_version:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise UpcastError(f"{event_type}: no upcaster from v{version} to v{version + 1}")
        raw = step(dict(raw))
        version += 1
        raw["schema_version"] = version
    return raw


def unregister(event_type: str, from_version: int) -> None:
    """Remove a step (tests register temporary ones)."""
    _UPCASTERS.pop((event_type, from_version), None)
