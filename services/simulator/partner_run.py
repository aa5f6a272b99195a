"""Simulated partners at work: they read their requests from Kafka, and report over HTTP.

`RequestFeed` reads `legal-aid-requested` (new requests) and `request-updated`
(withdrawals) with its own consumer: no group, nothing committed, from the start of the
run. `PartnerReporter` posts each report to notify's
`POST /v1/requests/{event_id}/status`, signed with the serving partner's secret from
the partners file (`services.notify.delivery.sign`, as notify checks it). `PartnerRun`
moves requests into the desk and due reports out, on a thread beside the run.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaConsumer, TopicPartition

from schemas.codec import EventValidationError, decode
from schemas.requests import LegalAidRequested, RequestUpdated
from services.notify.delivery import sign
from services.notify.partners import load_partners
from services.runtime.security import kafka_python_options
from services.simulator.partner_desk import DueReport, PartnerDesk

FEED_TOPICS = ("legal-aid-requested", "request-updated")


@dataclass(frozen=True)
class Partners:
    """Who serves each provider, and each partner's signing secret (never printed)."""

    serving: Mapping[str, str]
    secrets: Mapping[str, str]

    def __repr__(self) -> str:
        return f"Partners(serving={dict(self.serving)!r})"


def read_partners(path: Path, environ: Mapping[str, str] | None = None) -> Partners:
    """The partners file's `provider_ids` and secrets (`PartnerConfigError` on problems)."""
    serving: dict[str, str] = {}
    secrets: dict[str, str] = {}
    for sub in load_partners(path, environ):
        secrets[sub.partner_id] = sub.secret
        for provider_id in sorted(sub.provider_ids):
            serving.setdefault(provider_id, sub.partner_id)
    if not serving:
        raise ValueError(f"{path}: no partner lists provider_ids: nobody would report")
    return Partners(serving, secrets)


@dataclass(frozen=True)
class FeedItem:
    """A request issued (`withdrawn` False) or withdrawn."""

    event_id: str
    provider_id: str
    issued_at: datetime
    withdrawn: bool = False


class RequestFeed:
    """New and withdrawn legal-aid requests, from `since` on."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic_prefix: str,
        since: datetime,
        consumer_factory: Callable[..., Any] = KafkaConsumer,
    ) -> None:
        self._consumer = consumer_factory(
            bootstrap_servers=bootstrap_servers,
            client_id="returns-simulator-partners",
            group_id=None,
            enable_auto_commit=False,
            allow_auto_create_topics=False,
            **kafka_python_options(),
        )
        self._names = {f"{topic_prefix}{topic}": topic for topic in FEED_TOPICS}
        tps = [
            TopicPartition(name, number)
            for name in self._names
            for number in sorted(self._consumer.partitions_for_topic(name) or ())
        ]
        if not tps:
            self._consumer.close()
            names = ", ".join(self._names)
            raise ValueError(f"no topic {names} at {bootstrap_servers}: is the stack up?")
        self._consumer.assign(tps)
        millis = int(since.timestamp() * 1000)
        found = self._consumer.offsets_for_times(dict.fromkeys(tps, millis))
        ends = self._consumer.end_offsets(tps)
        for tp in tps:
            self._consumer.seek(tp, found[tp].offset if found.get(tp) else ends[tp])
        self.undecodable = 0

    def poll(self, timeout_ms: int) -> list[FeedItem]:
        items: list[FeedItem] = []
        for tp, records in self._consumer.poll(timeout_ms=timeout_ms).items():
            topic = self._names[tp.topic]
            for record in records:
                item = self._item(topic, record.value)
                if item is not None:
                    items.append(item)
        return items

    def _item(self, topic: str, raw: bytes) -> FeedItem | None:
        try:
            if topic == "legal-aid-requested":
                issued = decode(raw, LegalAidRequested)
                data = issued.data
                return FeedItem(issued.event_id, data.provider_id, issued.occurred_at)
            update = decode(raw, RequestUpdated)
        except (EventValidationError, ValueError):
            self.undecodable += 1
            return None
        change = update.data
        if change.request_type != "legal-aid-requested" or change.change != "withdrawn":
            return None
        return FeedItem(change.request_event_id, change.provider_id, update.occurred_at, True)

    def close(self) -> None:
        self._consumer.close()


class PartnerReporter:
    """Posts signed reports to notify; the HTTP status, or None when no answer came."""

    def __init__(self, base_url: str, secrets: Mapping[str, str], client: httpx.Client) -> None:
        self.base_url = base_url.rstrip("/")
        self._secrets = secrets
        self._client = client

    def send(self, report: DueReport) -> int | None:
        body = json.dumps(report.body(), separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Partner-Id": report.partner_id,
            "X-Signature": sign(body, self._secrets[report.partner_id]),
        }
        url = f"{self.base_url}/v1/requests/{report.event_id}/status"
        try:
            return self._client.post(url, content=body, headers=headers).status_code
        except httpx.HTTPError:
            return None


def utc_now() -> datetime:
    return datetime.now(UTC)


class PartnerRun:
    """Requests in, due reports out; `run` until `stop` is set, then for `linger` seconds."""

    def __init__(
        self,
        desk: PartnerDesk,
        feed: RequestFeed,
        reporter: PartnerReporter,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.desk, self.feed, self.reporter, self.now = desk, feed, reporter, now
        self.failure: BaseException | None = None

    def step(self, timeout_ms: int = 200) -> None:
        """Read what came, then send what is due."""
        for item in self.feed.poll(timeout_ms):
            if item.withdrawn:
                self.desk.withdrawn(item.event_id)
            else:
                self.desk.learn(item.event_id, item.provider_id, item.issued_at)
        while reports := self.desk.due(self.now()):  # a request's next report waits for
            for report in reports:  # the answer to the one before
                self.desk.settle(report, self.reporter.send(report), self.now())

    def run(self, stop: threading.Event, linger: float) -> None:
        """Step until `stop`, then until nothing is due within `linger` seconds of it."""
        try:
            while not stop.is_set():
                self.step()
            deadline = time.monotonic() + linger
            while time.monotonic() < deadline:
                self.step()
        except Exception as exc:  # reported by the caller, not lost in a thread
            self.failure = exc
        finally:
            self.feed.close()


class PartnerThread:
    """A `PartnerRun` on a daemon thread beside the simulation."""

    def __init__(self, run: PartnerRun, linger: float) -> None:
        self.run = run
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run.run, args=(self._stop, linger), name="partners", daemon=True
        )

    def __enter__(self) -> PartnerThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
