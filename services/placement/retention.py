"""How long placement keeps a group's record: ``RETURNS_PLACEMENT_RETAIN_DAYS`` (35).

A record is what the single writer needs to act on a later event about its group
(docs/adr/0039-retention-of-placement-and-notify-memory.md):

- a **waiting** group's record is its place in line, and a **placed** group's record
  holds its beds (the departure that frees them, a withdrawal or a re-decision finds
  them there): neither is ever forgotten. Placed groups are bounded by the beds, waiting
  ones by the queues;
- an **ended** group's record (departed, withdrawn) only makes a repeat a duplicate: the
  same decision or departure read again, or a re-decision of a departed group, which is
  refused rather than placed again. Screening re-decides a group only within
  ``RETURNS_SCREENING_RETAIN_DAYS`` (30) of its latest record, so the record is kept
  ``keep`` after its last change, at least that long, and then deleted (a tombstone).

Every input topic is kept forever (infra/topics.toml), so a replay (a consumer group
whose offsets expired, a reset) can bring back any old decision. An accepted decision
for a group the unit does not know, decided ``keep`` or longer before it is read, may
be one whose record was forgotten: it is not placed (`DECISION_BEYOND_RETENTION`, with
its event id). A record knows only decisions at least as old as its `changed_at`, so
every decision of a forgotten record is refused; a decision younger than that is new.
The price: a decision first read more than ``keep`` after it was made (a backlog older
than the retention) is left to the operator too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.placement.records import GroupRecord
from services.runtime.due import DueHeap
from services.runtime.settings import ConfigurationError, positive_number

KEEP_DAYS = 35.0
EXPIRED_PER_COMMAND = 200
"""Records one command deletes at most, so that a backlog (the first commands after an
upgrade, or after a long stop) is worked off over several commands and ticks."""
UNSTAMPED = datetime.min.replace(tzinfo=UTC)
"""The due time of an ended record written before `changed_at` was kept: stamp it now."""


@dataclass(frozen=True)
class Retention:
    """How long an ended group's record is kept after its last change."""

    keep: timedelta = timedelta(days=KEEP_DAYS)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Retention:
        """``RETURNS_PLACEMENT_RETAIN_DAYS``, in days; refused when shorter than
        ``RETURNS_SCREENING_RETAIN_DAYS`` set in the same environment (a re-decision of a
        departed group would then find no record, and place the group again)."""
        problems: list[str] = []
        name = "RETURNS_PLACEMENT_RETAIN_DAYS"
        keep = positive_number(env, name, KEEP_DAYS, problems, " of days")
        screening = positive_number(env, "RETURNS_SCREENING_RETAIN_DAYS", 0.0, [], "")
        if not problems and keep < screening:
            problems.append(
                "RETURNS_PLACEMENT_RETAIN_DAYS must be at least RETURNS_SCREENING_RETAIN_DAYS"
                f" ({keep:g} < {screening:g})"
            )
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(timedelta(days=keep))

    def expires_at(self, record: GroupRecord) -> datetime | None:
        """When `record` may be deleted: never while the group waits or holds beds."""
        if record.live:
            return None
        if record.changed_at is None:
            return UNSTAMPED
        return record.changed_at + self.keep

    def forgotten(self, decided_at: datetime | None, now: datetime) -> bool:
        """Whether a decision made at `decided_at` may belong to a record already deleted
        by `now` (unknown for commands written before `decided_at` was sent: never)."""
        return decided_at is not None and decided_at + self.keep <= now


def noting_expiry(
    records: Iterable[GroupRecord], applied_offset: int, retention: Retention, heap: DueHeap
) -> Iterator[GroupRecord]:
    """`records` as they pass, each ended one noted in `heap` by when it may be deleted.

    Built from the unit's records with its queues, in the same pass; each record written
    since is added. An entry is a hint: the record is read again before it is deleted,
    and a group that changed since (placed again, re-stamped) has a later entry of its own.
    """
    for stored in records:
        record = stored.valid_at(applied_offset)
        if record is not None and (due := retention.expires_at(record)) is not None:
            heap.add(record.group_id, due)
        yield stored
