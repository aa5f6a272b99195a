"""What notify remembers in its tables, as JSON bytes: groups, issued requests, load.

- `groups` (key `group_id`): the group's live `screened` decision, which `placed` lacks,
  any `placed` event that arrived before it ("parked"), the group's open requests, its
  current placement and the placements a `placement-withdrawn` ended
  (docs/adr/0014-requests-follow-the-live-decision.md).
- `issued` (key: the causing event's id): the exact bytes of every request an event
  caused, so that reprocessing it after a crash re-sends the identical requests instead
  of choosing a provider again.
- `load` (key `<partition>/<provider id>`): open requests of a provider issued from one
  partition: counted up when issued, down when notify withdraws one; a table partition
  counts only its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from schemas.decisions import Screened
from schemas.requests import CareRequested, LegalAidRequested, Priority, Purpose


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


class OpenRequest(_Record):
    """A request sent and not withdrawn, in its current form (after any amendment)."""

    event_id: str
    group_id: str
    request_type: Literal["legal-aid-requested", "care-requested"]
    purpose: Purpose | None = None  # legal aid only
    case_id: str | None = None  # care only
    provider_id: str
    members: list[str]
    priority: Priority | None = None
    location: str | None
    shelter_id: str | None

    @property
    def from_placement(self) -> bool:
        """Caused by a `placed` (hearing, care), not by a fear referral."""
        return self.purpose != "non_refoulement_interview"

    @classmethod
    def of(cls, event_id: str, data: LegalAidRequested | CareRequested) -> OpenRequest:
        if isinstance(data, CareRequested):
            return cls(
                event_id=event_id,
                group_id=data.group_id,
                request_type=data.EVENT_TYPE,
                case_id=data.case_id,
                provider_id=data.provider_id,
                members=[data.case_id],
                location=data.location,
                shelter_id=data.shelter_id,
            )
        return cls(
            event_id=event_id,
            group_id=data.group_id,
            request_type=data.EVENT_TYPE,
            purpose=data.purpose,
            provider_id=data.provider_id,
            members=list(data.members),
            priority=data.priority,
            location=data.location,
            shelter_id=data.shelter_id,
        )


class GroupRecord(_Record):
    """A group as notify knows it; `parked` holds raw `placed` events waiting for it.

    `placement` is the last `placed` acted on; `ended` the placements named by a
    `placement-withdrawn`, so that one read after its withdrawal issues nothing.
    """

    screened: Screened | None = None
    screened_event_ids: list[str] = []
    parked: list[str] = []
    open: list[OpenRequest] = []
    placement: str | None = None
    ended: list[str] = []

    def with_screened(self, decision: Screened, event_id: str) -> GroupRecord:
        """Record a decision: it replaces the stored one (the last of the chain is live),
        except a legacy late member's decision (`decided_after`), which joins it."""
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

    def with_open(self, opened: list[OpenRequest]) -> GroupRecord:
        """The record with these open requests (after a reassignment or a close)."""
        return GroupRecord(
            screened=self.screened,
            screened_event_ids=self.screened_event_ids,
            parked=self.parked,
            open=opened,
            placement=self.placement,
            ended=self.ended,
        )

    def with_parked_only(self, parked: list[str]) -> GroupRecord:
        return self.model_copy(update={"parked": parked})

    def knows_members(self, members: Iterable[str], decision_id: str | None) -> bool:
        """Whether the stored decision is `decision_id`, or at least covers `members`:
        a re-placement read before its decision waits for the members' needs."""
        if self.screened is None:
            return False
        if decision_id in self.screened_event_ids:
            return True
        return set(members) <= {m.case_id for m in self.screened.members}


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
    trace: str | None = None  # the traceparent it was sent with, sent again with it


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


def count_withdrawn(load: MutableMapping[str, bytes], partition: int, provider_id: str) -> None:
    key = load_key(partition, provider_id)
    load[key] = str(max(0, int(load.get(key, b"0")) - 1)).encode()


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None or b is None:
        return a or b
    return min(a, b)
