"""One event, reduced to what a measurement needs: no personal data is kept.

Decoding with :func:`schemas.codec.decode_any` would validate every field of every
event; a live view reads thousands a second on a shared machine, so it reads the
JSON and keeps the envelope's identity, crossing and time, and of ``data`` only the
group size (``person-returned``) and the decision (``screened``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

OBSERVED_TOPICS = (
    "person-returned",
    "screened",
    "placed",
    "placement-deferred",
    "legal-aid-requested",
)


@dataclass(frozen=True)
class Observation:
    """An event of contract topic ``topic`` that happened at ``at`` (seconds since the epoch).

    ``group_id`` is the envelope's ``correlation_id``. ``group_size`` is set for
    ``person-returned``; ``decision`` and ``incomplete`` (the group was closed without
    all its members, reason ``GROUP_INCOMPLETE``) for ``screened``.
    """

    topic: str
    event_id: str
    group_id: str
    crossing: str | None
    at: float
    group_size: int | None = None
    decision: str | None = None
    incomplete: bool = False


def observe(topic: str, raw: bytes) -> Observation | None:
    """The observation of one event's bytes; None when they are not a readable envelope."""
    try:
        document = json.loads(raw)
        data: dict[str, Any] = document.get("data") or {}
        observation = Observation(
            topic=topic,
            event_id=str(document["event_id"]),
            group_id=str(document["correlation_id"]),
            crossing=document.get("crossing"),
            at=datetime.fromisoformat(document["occurred_at"]).timestamp(),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    if topic == "person-returned":
        size = data.get("group_size")
        return _replace(observation, group_size=size if isinstance(size, int) else None)
    if topic == "screened":
        reasons = data.get("reasons") or []
        incomplete = any(
            isinstance(r, dict) and r.get("code") == "GROUP_INCOMPLETE" for r in reasons
        )
        decision = data.get("decision")
        return _replace(
            observation,
            decision=decision if isinstance(decision, str) else None,
            incomplete=incomplete,
        )
    return observation


def _replace(observation: Observation, **changes: Any) -> Observation:
    return Observation(**{**observation.__dict__, **changes})
