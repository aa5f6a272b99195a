"""What notify remembers in its tables, as JSON bytes: groups, issued requests, load.

- `groups` (key `group_id`): the group's `screened` decision, which `placed` lacks, and
  any `placed` event that arrived before it ("parked").
- `issued` (key: the causing event's id): the exact bytes of every request an event
  caused, so that reprocessing it after a crash re-sends the identical requests instead
  of choosing a provider again.
- `load` (key `<partition>/<provider id>`): requests issued to a provider from one
  partition. Notify's only load signal: the contract has no event closing a request, so
  "open requests" counts every request issued, and a table partition counts only its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from schemas.decisions import Screened


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class GroupRecord(_Record):
    """A group as notify knows it; `parked` holds raw `placed` events waiting for it."""

    screened: Screened | None = None
    screened_event_ids: list[str] = []
    parked: list[str] = []

    def with_screened(self, decision: Screened, event_id: str) -> GroupRecord:
        """Record a decision; a late member's decision (`decided_after`) joins the group's."""
        if event_id in self.screened_event_ids:
            return self
        merged = decision
        if self.screened is not None and decision.decided_after is not None:
            merged = merge_late_member(self.screened, decision)
        return self.model_copy(
            update={"screened": merged, "screened_event_ids": [*self.screened_event_ids, event_id]}
        )

    def with_parked(self, raw_placed: bytes) -> GroupRecord:
        text = raw_placed.decode()
        if text in self.parked:
            return self
        return self.model_copy(update={"parked": [*self.parked, text]})

    def without_parked(self) -> GroupRecord:
        return self.model_copy(update={"parked": []})


def merge_late_member(group: Screened, late: Screened) -> Screened:
    """The group's decision with a late member's members, earliest return and hearing added."""
    known = {m.case_id for m in group.members}
    members = [*group.members, *(m for m in late.members if m.case_id not in known)]
    return group.model_copy(
        update={
            "members": sorted(members, key=lambda m: m.case_id),
            "returned_at": _earliest(group.returned_at, late.returned_at),
            "earliest_hearing_at": _earliest(group.earliest_hearing_at, late.earliest_hearing_at),
        }
    )


class IssuedRequest(_Record):
    topic: str
    value: str


class IssuedRecord(_Record):
    """Every request one event caused, as sent (empty when it caused none)."""

    requests: list[IssuedRequest]


def load_key(partition: int, provider_id: str) -> str:
    return f"{partition}/{provider_id}"


def open_requests(
    load: Mapping[str, bytes], partition: int, provider_ids: Iterable[str]
) -> dict[str, int]:
    """Provider id -> requests issued to it from `partition` (absent: none)."""
    counts = {}
    for provider_id in provider_ids:
        raw = load.get(load_key(partition, provider_id))
        if raw is not None:
            counts[provider_id] = int(raw)
    return counts


def count_issued(load: MutableMapping[str, bytes], partition: int, provider_id: str) -> None:
    key = load_key(partition, provider_id)
    load[key] = str(int(load.get(key, b"0")) + 1).encode()


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)
