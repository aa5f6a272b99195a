"""Who has had which request, kept for ``RETURNS_NOTIFY_MEMORY_DAYS`` (35).

The `notify-receipts` agent reads each `notification-delivered` into `delivered`
("<partner> <event id>"), so that a request re-read after a crash is not delivered again
to a partner that has it (dispatch.py). The table is wrapped in a `RetainedTable`
(services/runtime/retained.py) over `delivered_expiry`: each entry is kept ``keep``
after it was written, or after its receipt happened if that is later, and the agent
deletes what is due in the partition it is handling, at most `FORGOTTEN_PER_RECEIPT` per
receipt (docs/adr/0040-retention-of-delivered.md).

An entry is written no earlier than its delivery, itself no earlier than its request
happened; so a request whose entry was deleted is at least ``keep`` old, and the
dispatcher does not deliver a request that old to a partner it has no entry for.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from schemas.envelope import Envelope
from schemas.requests import NotificationDelivered
from services.notify.dispatch import delivered_key
from services.notify.memory import Retention
from services.notify.tables import NotifyTables
from services.runtime.due_on_disk import index_path
from services.runtime.retained import RetainedTable

log = logging.getLogger(__name__)
FORGOTTEN_PER_RECEIPT = 500
"""Entries one receipt deletes in its partition at most (the rest with the next ones)."""


class Receipts:
    """`delivered`, each entry kept for `retention` (see the module docstring)."""

    def __init__(
        self,
        tables: NotifyTables,
        retention: Retention | None = None,
        indexes_at: Path | None = None,
    ) -> None:
        self.retention = retention or Retention()
        self.delivered = RetainedTable(
            tables.delivered,
            tables.delivered_expiry,
            self.retention.keep,
            index_at=index_path(indexes_at, "delivered"),
        )

    def remember(
        self, receipt: Envelope[NotificationDelivered], partition: int, now: datetime
    ) -> int:
        """`receipt`, read on `partition` at `now`: its partner has its request. Deletes
        what is due in `partition` first; returns how many entries went."""
        gone = self.expire(partition, now)
        self.delivered.at(partition, max(receipt.occurred_at, now))
        key = delivered_key(receipt.data.partner_id, receipt.data.notified_event_id)
        self.delivered[key] = receipt.event_id.encode()
        return gone

    def expire(self, partition: int, now: datetime, limit: int = FORGOTTEN_PER_RECEIPT) -> int:
        """Delete the entries of `partition` kept past the retention by `now`, at most
        `limit`; how many."""
        gone = self.delivered.expire_due(partition, now, limit)
        if gone:
            log.info("partition %d: %d delivery receipt(s) forgotten", partition, gone)
        return gone

    def forget_index(self) -> None:
        """Partitions were assigned or revoked: the index is built again on next use."""
        self.delivered.forget_index()

    async def on_rebalance(self, sender: Any, *args: Any, signal: Any, **kwargs: Any) -> None:
        """A faust `on_partitions_revoked` receiver."""
        self.forget_index()
