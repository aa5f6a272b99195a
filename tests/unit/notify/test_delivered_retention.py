"""Notify's `delivered` kept for the retention: when a receipt is forgotten, and what a
request read again does before and after that."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.notify.delivery import Outcome
from services.notify.dispatch import delivered_key, receipt_for
from services.notify.memory import Retention
from services.notify.receipts import FORGOTTEN_PER_RECEIPT, Receipts
from services.notify.tables import NotifyTables
from services.runtime import metrics
from tests.unit.notify.test_dispatch import LAWYERS, LEGAL_AID, LEGAL_AID_ID, NOW, Harness

KEEP = timedelta(days=35)
PARTITION = 3
LAWYERS_HAVE_IT = delivered_key("lawyers", LEGAL_AID_ID)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def receipt(event_id: str, at: datetime, partner_id: str = "lawyers") -> Any:
    outcome = Outcome(partner_id, event_id, "legal-aid-requested", "G-1", True, 1, 204, None, at)
    return receipt_for(outcome, "notify/test")


class Notify:
    """The receipts agent and the deliveries agent over the same in-memory tables."""

    def __init__(self) -> None:
        self.tables = NotifyTables.in_memory()
        self.receipts = Receipts(self.tables, Retention(KEEP))
        self.clock = Clock(NOW)
        self.deliveries = Harness(
            delivered=self.receipts.delivered,
            partners=[LAWYERS],
            retention=self.receipts.retention,
            clock=self.clock,
        )

    def received(self, at: datetime) -> None:
        """The lawyers' receipt of the legal-aid request, read at `at`."""
        self.clock.now = at
        self.receipts.remember(receipt(LEGAL_AID_ID, at), PARTITION, at)

    async def read_again(self, at: datetime) -> list[str]:
        """The deliveries agent reads the request (again) at `at`; the idempotency keys
        posted to the lawyers."""
        self.clock.now = at
        deliveries = self.deliveries
        await deliveries.dispatcher.start()
        await deliveries.take(PARTITION, 0, "legal@0", LEGAL_AID)
        await deliveries.until(lambda: bool(deliveries.acked))
        await deliveries.dispatcher.stop(grace=1)
        return deliveries.idempotency_keys


def beyond_memory() -> float:
    labels = {"event_type": "legal-aid-requested"}
    return metrics.REGISTRY.get_sample_value("returns_notify_beyond_memory_total", labels) or 0.0


def test_a_receipt_is_forgotten_a_retention_after_it_was_read_and_not_before() -> None:
    notify = Notify()
    notify.received(NOW)
    assert notify.receipts.expire(PARTITION, NOW + KEEP - timedelta(seconds=1)) == 0
    assert LAWYERS_HAVE_IT in notify.receipts.delivered

    assert notify.receipts.expire(PARTITION, NOW + KEEP) == 1
    assert LAWYERS_HAVE_IT not in notify.receipts.delivered
    assert not notify.receipts.delivered.expiry


def test_a_receipt_read_before_it_happened_is_kept_from_when_it_happened() -> None:
    notify = Notify()
    later = NOW + timedelta(days=2)  # the reading worker's clock is behind the partner lane's
    notify.receipts.remember(receipt(LEGAL_AID_ID, later), PARTITION, NOW)
    assert notify.receipts.expire(PARTITION, NOW + KEEP) == 0
    assert notify.receipts.expire(PARTITION, later + KEEP) == 1


def test_a_receipt_forgets_what_is_due_in_its_partition_a_bounded_number_at_a_time() -> None:
    notify = Notify()
    for n in range(FORGOTTEN_PER_RECEIPT + 20):
        notify.receipts.remember(receipt(f"ev-{n}", NOW), PARTITION, NOW)
    notify.receipts.remember(receipt("ev-other", NOW), PARTITION + 1, NOW)

    notify.receipts.remember(receipt("ev-new", NOW + KEEP), PARTITION, NOW + KEEP)
    assert len(notify.receipts.delivered) == 20 + 1 + 1  # the rest, the other partition's, new
    assert delivered_key("lawyers", "ev-other") in notify.receipts.delivered


async def test_a_request_read_again_within_the_retention_is_not_delivered_again() -> None:
    notify = Notify()
    notify.received(NOW)
    assert await notify.read_again(NOW + KEEP - timedelta(minutes=1)) == []
    assert notify.deliveries.acked == ["legal@0"]


async def test_a_request_older_than_the_retention_and_unknown_is_not_delivered_but_counted() -> (
    None
):
    notify = Notify()
    notify.received(NOW)
    notify.receipts.expire(PARTITION, NOW + KEEP)
    before = beyond_memory()

    assert await notify.read_again(NOW + KEEP) == []
    assert notify.deliveries.acked == ["legal@0"]
    assert beyond_memory() == before + 1


async def test_a_young_request_nobody_has_is_delivered() -> None:
    notify = Notify()
    before = beyond_memory()
    assert await notify.read_again(NOW + KEEP - timedelta(seconds=1)) == [LEGAL_AID_ID]
    assert notify.deliveries.acked == ["legal@0"]
    assert beyond_memory() == before


async def test_the_index_is_built_again_from_the_expiry_table_after_a_rebalance() -> None:
    notify = Notify()
    notify.received(NOW)
    await notify.receipts.on_rebalance(None, signal=None)
    assert notify.receipts.expire(PARTITION, NOW + KEEP - timedelta(seconds=1)) == 0
    assert notify.receipts.expire(PARTITION + 1, NOW + KEEP) == 0  # not its partition

    restarted = Receipts(notify.tables, Retention(KEEP))  # another worker, same tables
    assert restarted.expire(PARTITION, NOW + KEEP) == 1
    assert LAWYERS_HAVE_IT not in notify.tables.delivered
    assert not notify.tables.delivered_expiry
