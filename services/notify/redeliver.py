"""Re-send a partner's failed webhook deliveries after its outage (`returns notify redeliver`).

From `since` on, the receipts say which events failed for the partner and which reached
it; every event that failed and has not been delivered since is looked up on its request
topic and POSTed again exactly as notify would (same bytes, signature and
`Idempotency-Key`), and each new outcome lands on `notification-delivered` or
`notification-failed` with an event id of its own run. Events the partner already has are
never sent again. Reads use no consumer group, as an auditor's replay does.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from schemas.envelope import utc_now
from services.notify.delivery import Backoff, Deliverer, Outcome, Timeouts
from services.notify.dispatch import receipt_for
from services.notify.partners import (
    DELIVERED_EVENT_TYPES,
    PartnerSubscription,
    matches,
    subscribed_as,
)
from services.runtime.identity import ServiceIdentity
from services.runtime.publishing import EventProducer
from services.runtime.security import kafka_python_options
from services.runtime.settings import Settings

PRODUCER = ServiceIdentity("notify").producer
DEFAULT_LOOKBACK = timedelta(days=1)
"""How far before `since` to look for the requests: a request precedes its failure by up
to the whole retry schedule, and an outage is usually noticed after it began."""


@dataclass(frozen=True)
class Plan:
    """What a redelivery will send: request bytes by event id, and ids whose request was
    not found (older than the lookback) or that the partner no longer subscribes to."""

    requests: dict[str, bytes]
    not_found: list[str]
    not_subscribed: list[str]


def to_redeliver(failed: Iterable[str], delivered: Iterable[str]) -> list[str]:
    """Event ids that failed and were never delivered, in order of first failure."""
    have = set(delivered)
    return list(dict.fromkeys(event_id for event_id in failed if event_id not in have))


def read_since(
    settings: Settings, topic: str, since: datetime, idle_timeout: float = 30.0
) -> Iterator[tuple[dict[str, Any], bytes]]:
    """Every event on contract topic `topic` written at or after `since`, parsed and as
    its exact bytes, up to the end offsets at the time of the call."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        **kafka_python_options(settings.security),
    )
    try:
        name = settings.topic(topic)
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        consumer.assign(partitions)
        ends = consumer.end_offsets(partitions)
        since_ms = int(since.timestamp() * 1000)
        starts = consumer.offsets_for_times({tp: since_ms for tp in partitions})
        todo = {
            tp: ends[tp]
            for tp in partitions
            if starts.get(tp) is not None and starts[tp].offset < ends[tp]
        }
        for tp in todo:
            consumer.seek(tp, starts[tp].offset)
        idle_since = time.monotonic()
        while todo:
            batches = consumer.poll(timeout_ms=500)
            if batches:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since > idle_timeout:
                raise TimeoutError(f"{name}: no records for {idle_timeout} s before its end")
            for tp, records in batches.items():
                for record in records:
                    if tp in todo and record.offset < todo[tp]:
                        yield json.loads(record.value), bytes(record.value)
                if tp in todo and consumer.position(tp) >= todo[tp]:
                    del todo[tp]
    finally:
        consumer.close()


def plan(
    settings: Settings,
    partner: PartnerSubscription,
    since: datetime,
    lookback: timedelta = DEFAULT_LOOKBACK,
) -> Plan:
    """Find the failed, never delivered events of `partner` since `since`, and their bytes."""
    receipts = {
        kind: [
            e["data"]["notified_event_id"]
            for e, _ in read_since(settings, kind, since)
            if e["data"]["partner_id"] == partner.partner_id
        ]
        for kind in ("notification-failed", "notification-delivered")
    }
    wanted = to_redeliver(receipts["notification-failed"], receipts["notification-delivered"])
    wanted_ids = set(wanted)
    found: dict[str, bytes] = {}
    skipped: list[str] = []
    for topic in sorted(DELIVERED_EVENT_TYPES):
        for event, raw in read_since(settings, topic, since - lookback):
            event_id = event["event_id"]
            if event_id not in wanted_ids or event_id in found or event_id in skipped:
                continue
            wanted_as = subscribed_as(event["event_type"], event["data"])
            if matches(partner, wanted_as, event["data"].get("location")):
                found[event_id] = raw
            else:
                skipped.append(event_id)
    missing = [e for e in wanted if e not in found and e not in skipped]
    return Plan({e: found[e] for e in wanted if e in found}, missing, skipped)


async def redeliver(
    producer: EventProducer,
    partner: PartnerSubscription,
    requests: dict[str, bytes],
    *,
    on_outcome: Callable[[Outcome], None] = lambda outcome: None,
    backoff: Backoff | None = None,
    timeouts: Timeouts | None = None,
) -> list[Outcome]:
    """POST each request to `partner` and write each outcome's receipt; returns the outcomes."""
    run = f"redelivery {utc_now().isoformat()}"
    outcomes: list[Outcome] = []

    async def record(outcome: Outcome) -> None:
        envelope = receipt_for(outcome, PRODUCER, run)
        sent = producer.publish(envelope.event_type, envelope)
        await asyncio.to_thread(sent.get, 30)  # durably written before we call it settled
        outcomes.append(outcome)
        on_outcome(outcome)

    deliverer = Deliverer([partner], record, backoff=backoff, timeouts=timeouts)
    await deliverer.start()
    try:
        tickets = []
        for event_id, body in requests.items():
            event = json.loads(body)
            ticket = await deliverer.submit(
                partner,
                event_id,
                event["event_type"],
                event["data"]["group_id"],
                body,
                crossing=event.get("crossing"),
            )
            tickets.append(ticket)
        await asyncio.gather(*tickets)
    finally:
        await deliverer.stop(drain=False)
    return outcomes
