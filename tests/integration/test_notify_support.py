"""Support for notify's integration tests (no tests here): a real partner webhook server,
partner files, and `screened` / `placed` events of Honduran and Guatemalan families
returned through El Paso and placed in Ciudad Juárez."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from schemas.decisions import Placed, Screened
from schemas.envelope import Envelope, event_id_for, make_envelope
from services.runtime.context import Runtime
from services.runtime.publishing import EventProducer
from tests.support.kafka import read_topic

RETURNED_AT = datetime.fromisoformat("2026-11-27T15:58:00-07:00")
# Retries in milliseconds, and a killed worker's partitions reassigned within seconds.
FAST = {
    "RETURNS_NOTIFY_BACKOFF_BASE": "0.05",
    "RETURNS_NOTIFY_BACKOFF_CAP": "0.2",
    "RETURNS_NOTIFY_MAX_ATTEMPTS": "5",
    "RETURNS_NOTIFY_CONNECT_TIMEOUT": "1",
    "RETURNS_NOTIFY_READ_TIMEOUT": "2",
    "RETURNS_NOTIFY_ATTEMPT_TIMEOUT": "3",
    "RETURNS_NOTIFY_SESSION_TIMEOUT": "8",
}


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float  # time.monotonic()

    def event(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


@dataclass
class _Behaviour:
    failures_left: int = 0
    down: bool = False
    hanging: bool = False
    delay: float = 0.0


INCOMPLETE = 0
"""The status of an attempt whose body was cut short (its sender was killed mid-request):
a partner never takes it, nor answers it."""


@dataclass
class PartnerServer:
    """Partners' webhook endpoints on 127.0.0.1, one path per partner, each programmable:
    fail its next n requests, be down (503) until told otherwise, or hang."""

    attempts: list[Received] = field(default_factory=list)
    arrivals: list[str] = field(default_factory=list)  # paths, as requests arrive
    _behaviour: dict[str, _Behaviour] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _released: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> PartnerServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server
        return self

    def stop(self) -> None:
        self._released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def url(self, path: str) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def fail_next(self, path: str, times: int) -> None:
        with self._lock:
            self._behaviour.setdefault(path, _Behaviour()).failures_left = times

    def set_down(self, path: str, down: bool) -> None:
        with self._lock:
            self._behaviour.setdefault(path, _Behaviour()).down = down

    def hang(self, path: str, hanging: bool = True) -> None:
        with self._lock:
            self._behaviour.setdefault(path, _Behaviour()).hanging = hanging

    def slow_down(self, path: str, seconds: float) -> None:
        """Answer each request after `seconds`, as a busy partner would."""
        with self._lock:
            self._behaviour.setdefault(path, _Behaviour()).delay = seconds

    def release_hung(self) -> None:
        """Answer every hung request (with a 503: none of them counts as delivered)."""
        self._released.set()

    def delivered(self, path: str) -> list[Received]:
        with self._lock:
            return [a for a in self.attempts if a.path == path and a.status == 200]

    def tried(self, path: str) -> list[Received]:
        with self._lock:
            return [a for a in self.attempts if a.path == path]

    def arrived(self, path: str) -> int:
        """Requests that reached `path`, answered or not (a hung one is not answered)."""
        with self._lock:
            return self.arrivals.count(path)

    def _respond(self, path: str) -> int:
        with self._lock:
            self.arrivals.append(path)
            behaviour = self._behaviour.setdefault(path, _Behaviour())
            hanging, delay = behaviour.hanging, behaviour.delay
        time.sleep(delay)
        if hanging:
            self._released.wait(timeout=300)
            return 503
        with self._lock:
            if behaviour.failures_left > 0:
                behaviour.failures_left -= 1
                return 503
            return 503 if behaviour.down else 200

    def _record(self, received: Received) -> None:
        with self._lock:
            self.attempts.append(received)


def _handler_for(partners: PartnerServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if len(body) < length:  # the sender died mid-request: no request, no answer
                partners._record(Received(self.path, {}, body, INCOMPLETE, time.monotonic()))
                self.close_connection = True
                return
            status = partners._respond(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            partners._record(Received(self.path, headers, body, status, time.monotonic()))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_partners() -> Iterator[PartnerServer]:
    """A started `PartnerServer`, stopped (hung requests released) on exit."""
    server = PartnerServer().start()
    try:
        yield server
    finally:
        server.stop()


def partners_file(
    tmp_path: Path, only: dict[str, list[str]] | None = None, **partners: str
) -> Path:
    """A partners file: partner id -> URL, each taking requests at CJS, of every type
    unless `only` names the types a partner takes."""
    entries = []
    for partner_id, url in partners.items():
        types = (only or {}).get(partner_id, ["legal-aid-requested", "care-requested"])
        entries.append(
            f'[[partners]]\npartner_id = "{partner_id}"\nurl = "{url}"\n'
            f'secret = "{secret(partner_id)}"\nevent_types = {json.dumps(types)}\n'
            'locations = ["CJS"]\n'
        )
    path = tmp_path / "partners.toml"
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


def secret(partner_id: str) -> str:
    return f"s3cret-of-{partner_id}"


def case_ids(group: int, size: int) -> list[str]:
    return [f"A{300000000 + group * 10 + n}" for n in range(size)]


def screened_event(
    group: int,
    *,
    size: int = 2,
    decision: str = "accepted",
    fear: bool = False,
    hearing_in_days: int | None = 40,
    interpreter: str | None = None,
    vaccinate_first: bool = True,
) -> Envelope[Screened]:
    """The decision for family `group` (case ids from `case_ids`), returned at El Paso."""
    members = []
    for n, case_id in enumerate(case_ids(group, size)):
        needs = ["legal_aid"] if decision == "accepted" else []
        if decision == "accepted" and vaccinate_first and n == 0:
            needs.append("covid_vaccination")
        if decision == "accepted" and interpreter:
            needs.append("interpreter")
        members.append(
            {
                "case_id": case_id,
                "flags": [],
                "needs": sorted(needs),
                "interpreter_language": interpreter,
            }
        )
    reasons = [{"case_id": members[0]["case_id"], "code": "FEAR_OF_RETURN"}] if fear else []
    hearing = RETURNED_AT + timedelta(days=hearing_in_days) if hearing_in_days else None
    document = {
        "group_id": group_id(group),
        "decision": decision,
        "rule_set": "2021-12",
        "members": members,
        "reasons": reasons,
        "returned_at": RETURNED_AT.isoformat(),
        "group_size": size,
        "earliest_hearing_at": hearing.isoformat() if hearing else None,
    }
    data = Screened.model_validate_json(json.dumps(document))
    return _wrap(data, "screened", group)


def placed_event(group: int, *, size: int = 2) -> Envelope[Placed]:
    document = {
        "group_id": group_id(group),
        "location": "CJS",
        "shelter_id": "CJS-S01",
        "members": case_ids(group, size),
        "beds": size,
        "rerouted_from": None,
        "transport_required": False,
        "deferred_since": None,
        "returned_at": RETURNED_AT.isoformat(),
    }
    return _wrap(Placed.model_validate_json(json.dumps(document)), "placed", group)


def group_id(group: int) -> str:
    return f"G-2026-{group:06d}"


def _wrap(data: Any, event_type: str, group: int) -> Envelope[Any]:
    return make_envelope(
        data,
        event_id=event_id_for(event_type, "notify-test", group_id(group)),
        producer=f"{event_type}-test/0",
        correlation_id=group_id(group),
        causation_id=None,
        crossing="ELP",
    )


def publish(runtime: Runtime, *events: tuple[str, Envelope[Any]]) -> None:
    with EventProducer(runtime.router, client_id="notify-test") as producer:
        for topic, envelope in events:
            producer.publish(topic, envelope)


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def committed_offsets(runtime: Runtime, topic: str) -> dict[int, int]:
    """Partition -> offset committed by notify's consumer group on contract topic `topic`."""
    admin = KafkaAdminClient(bootstrap_servers=runtime.settings.bootstrap_servers)
    try:
        group = f"{runtime.settings.topic_prefix}returns-notify"
        offsets = admin.list_group_offsets(group)[group]
    finally:
        admin.close()
    name = runtime.settings.topic(topic)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == name}


def end_offsets(runtime: Runtime, topic: str) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=runtime.settings.bootstrap_servers)
    try:
        name = runtime.settings.topic(topic)
        partitions = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def all_committed(runtime: Runtime, topic: str) -> bool:
    """Whether notify has committed every record of `topic` written so far."""
    committed = committed_offsets(runtime, topic)
    ends = end_offsets(runtime, topic)
    return all(committed.get(p, 0) == end for p, end in ends.items())


def events_of(
    runtime: Runtime, topic: str, count: int, timeout: float = 60.0, settle: float = 0.0
) -> list[Any]:
    """The envelopes on `topic` once there are at least `count` of them."""
    records = read_topic(
        runtime.settings,
        topic,
        until=lambda found: len(found) >= count,
        timeout=timeout,
        settle=settle,
    )
    return [record.event() for record in records]
