"""How long notify remembers what it handled: ``RETURNS_NOTIFY_MEMORY_DAYS`` (35).

Two tables of the decisions agent grew with every input ever read
(docs/adr/0039-retention-of-placement-and-notify-memory.md):

- `issued` (what each input caused, as sent) makes an input read again re-send the
  same bytes instead of deciding again. Each entry is kept ``keep`` after it was
  written (or after its input happened, if that is later);
- `groups` (a group's live decision, parked placements, open requests, placements)
  is what a later event about the group is applied to. A group is kept while it has an
  open legal-aid request, a parked `placed`, or an accepted decision without a placement
  in force (it may still wait in placement's queue, which never forgets a waiting group);
  then ``keep`` after its last change. A re-decision after that (screening re-decides
  only within ``RETURNS_SCREENING_RETAIN_DAYS``, 30) finds no open request to amend,
  as it would have found with the record kept.

Every input topic is kept forever (infra/topics.toml), so a replay (a consumer group
whose offsets expired, a reset) can bring back any old input; no retention outlives
that. Instead, an input notify has no memory of and that happened ``keep`` or longer
before it is read is not handled: logged with its event id and counted
(`returns_notify_beyond_memory_total`). An entry is written no earlier than its input
happened, so every input whose entry was deleted is that old; a younger input is
either remembered or new. Beyond the retention, an input first read that late (a
backlog older than it) is left to the operator too. Ticks are not guarded: the clock
topic keeps them 1 day (plus an open segment), far less than ``keep``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from services.notify import metrics
from services.notify.ledger import GroupRecord
from services.notify.tables import NotifyTables
from services.runtime.due_on_disk import index_path
from services.runtime.retained import RetainedTable
from services.runtime.settings import ConfigurationError, positive_number

log = logging.getLogger(__name__)
KEEP_DAYS = 35.0
FORGOTTEN_PER_TICK = 500
"""Entries one tick deletes per partition at most (the rest on the next ticks)."""


def awaits_more(record: GroupRecord) -> bool:
    """Whether a later event must still find `record`: an open legal-aid request (a
    partner's report or a deadline acts on it), a parked `placed`, or an accepted
    decision with no placement in force. A care request has no progress of its own:
    only a re-decision or a re-placement changes it, as they change the group."""
    if record.parked or any(r.request_type == "legal-aid-requested" for r in record.open):
        return True
    accepted = record.screened is not None and record.screened.decision == "accepted"
    in_force = record.placement is not None and record.placement not in record.ended
    return accepted and not in_force


def group_may_expire(raw: bytes) -> bool:
    return not awaits_more(GroupRecord.model_validate_json(raw))


@dataclass(frozen=True)
class Retention:
    """How long `issued` entries, settled groups and delivery receipts are kept."""

    keep: timedelta = timedelta(days=KEEP_DAYS)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Retention:
        problems: list[str] = []
        days = positive_number(env, "RETURNS_NOTIFY_MEMORY_DAYS", KEEP_DAYS, problems, " of days")
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(timedelta(days=days))

    def beyond(self, occurred_at: datetime, now: datetime) -> bool:
        """Whether an input that happened at `occurred_at` may be one forgotten by `now`."""
        return occurred_at + self.keep <= now

    def refuses(
        self, event_type: str, event_id: str, occurred_at: datetime, now: datetime, what: str
    ) -> bool:
        """`beyond`, logged and counted when true: the event is not `what` (handled,
        delivered) because notify may have forgotten it."""
        if not self.beyond(occurred_at, now):
            return False
        log.warning(
            "%s %s happened longer ago than RETURNS_NOTIFY_MEMORY_DAYS: not %s",
            event_type,
            event_id,
            what,
            extra={"event_id": event_id, "reason_code": "BEYOND_MEMORY"},
        )
        metrics.BEYOND_MEMORY.labels(event_type=event_type).inc()
        return True


class Memory:
    """`issued` and `groups`, each kept for `retention` (see the module docstring).

    The decisions agent says which partition and time each input is handled at
    (`handling`), and each tick deletes what is due in its partition (`expire`).
    """

    def __init__(
        self,
        tables: NotifyTables,
        retention: Retention | None = None,
        indexes_at: Path | None = None,
    ) -> None:
        self.retention = retention or Retention()
        keep = self.retention.keep
        self.issued = RetainedTable(
            tables.issued, tables.issued_expiry, keep, index_at=index_path(indexes_at, "issued")
        )
        self.groups = RetainedTable(
            tables.groups,
            tables.groups_expiry,
            keep,
            group_may_expire,
            index_at=index_path(indexes_at, "groups"),
        )

    def handling(self, partition: int, occurred_at: datetime, now: datetime) -> None:
        """An input of `partition` that happened at `occurred_at` is handled at `now`."""
        kept_from = max(occurred_at, now)
        self.issued.at(partition, kept_from)
        self.groups.at(partition, kept_from)

    def beyond(self, event_type: str, event_id: str, occurred_at: datetime, now: datetime) -> bool:
        """Whether an input unknown to the tables is too old to tell from a forgotten one;
        logged and counted when it is."""
        return self.retention.refuses(event_type, event_id, occurred_at, now, "handled")

    def expire(self, partition: int, now: datetime, limit: int = FORGOTTEN_PER_TICK) -> int:
        """Delete the entries of `partition` kept past the retention by `now`, at most
        `limit` over both tables; how many."""
        gone = self.issued.expire_due(partition, now, limit)
        gone += self.groups.expire_due(partition, now, limit - gone)
        if gone:
            log.info("partition %d: %d remembered input(s) or group(s) deleted", partition, gone)
        return gone

    def forget_index(self) -> None:
        """Partitions were assigned or revoked: the indexes are built again on next use."""
        self.issued.forget_index()
        self.groups.forget_index()

    async def on_rebalance(self, sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        """A faust `on_partitions_revoked` receiver."""
        self.forget_index()
