"""How long screening remembers a decided group, and what a record after that does.

Pure rules on plain values; the desk applies them to its tables
(docs/adr/0032-persistent-state-and-retention.md, docs/CONTRACT.md "Retention of
service state").

A decided group goes through three stages, all timed on the arrival clock (the
partition's arrival watermark), so that a replay of ``person-returned`` expires the same
groups at the same points as the live run did:

1. **kept** (``RETURNS_SCREENING_RETAIN_DAYS``, 30): its whole file, records and live
   decision, until that long after its latest record arrived or its window closed,
   whichever is later. A late member or a
   correction re-decides it, as always (docs/adr/0012, 0015); each such record restarts
   the period.
2. **closed** (``RETURNS_SCREENING_RETAIN_CLOSED_DAYS``, 365): only a short line naming
   its live decision. A record of a closed group is not taken: the live decision stands,
   and no second decision is made.
3. **forgotten**: nothing is left. A record whose group screening does not know opens a
   new group, unless it is older than screening's memory (`too_old_to_open`): a person
   returned more than the closed period before their record arrives. A family's members
   are returned together, so a late member of a forgotten group is always that old, and
   gets no second decision either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.runtime.settings import ConfigurationError, positive_number
from services.screening.grouping import GroupFile

KEEP_DAYS = 30.0
CLOSED_DAYS = 365.0
RETURNED_AHEAD = timedelta(days=1)  # intake accepts a returned_at up to a day ahead


@dataclass(frozen=True)
class Retention:
    """How long a decided group's file, then its closed line, are kept."""

    keep: timedelta = timedelta(days=KEEP_DAYS)
    closed: timedelta = timedelta(days=CLOSED_DAYS)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Retention:
        """``RETURNS_SCREENING_RETAIN_DAYS`` and ``..._RETAIN_CLOSED_DAYS``, in days."""
        problems: list[str] = []
        keep = positive_number(
            env, "RETURNS_SCREENING_RETAIN_DAYS", KEEP_DAYS, problems, " of days"
        )
        closed = positive_number(
            env, "RETURNS_SCREENING_RETAIN_CLOSED_DAYS", CLOSED_DAYS, problems, " of days"
        )
        if not problems and timedelta(days=keep) <= RETURNED_AHEAD:
            problems.append("RETURNS_SCREENING_RETAIN_DAYS must be more than 1 day")
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(timedelta(days=keep), timedelta(days=closed))

    def file_expires_at(self, group: GroupFile) -> datetime:
        """When a decided group's file is closed: ``keep`` after its latest arrival, or
        after its window closed if that was later (a watermark long after the arrivals)."""
        latest = max(record.arrived_at for record in group.records)
        if group.decided is not None:
            latest = max(latest, group.decided.window.closed_at)
        return latest + self.keep

    def closed_expires_at(self, file_expired_at: datetime) -> datetime:
        """When a closed group's line is forgotten: ``closed`` after its file expired."""
        return file_expired_at + self.closed

    def too_old_to_open(self, returned_at: datetime, arrived_at: datetime) -> bool:
        """Whether a record of a group screening does not know is older than its memory.

        A group is forgotten ``keep + closed`` after its latest record arrived, and its
        members were returned at the latest a day after that record arrived, which is
        less than ``keep`` after. A member of it arriving now was therefore returned more
        than ``closed`` ago; a person returned more recently cannot be in a forgotten
        group.
        """
        return arrived_at - returned_at > self.closed


def closed_line(group: GroupFile, closed_at: datetime) -> bytes:
    """The ``closed-groups`` value of a group whose file expired: its live decision."""
    decided = group.decided
    return json.dumps(
        {
            "decided": decided.event_id if decided else None,
            "revision": decided.revision if decided else 0,
            "closed_at": closed_at.isoformat(),
        },
        sort_keys=True,
    ).encode()
