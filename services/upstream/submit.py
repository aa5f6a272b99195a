"""Submitting ``person-returned`` records, one JSON object each."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from services.runtime.context import build_runtime
from services.runtime.publishing import EventProducer, Router

Record = dict[str, Any] | bytes


class SubmissionRejected(Exception):
    """Intake answered 422/413: ``errors`` lists every problem it found."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        self.status = status
        self.errors = errors
        super().__init__(
            f"rejected ({status}): "
            + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
        )


def _bytes(record: Record) -> bytes:
    return record if isinstance(record, bytes) else json.dumps(record, ensure_ascii=False).encode()


def _routing(raw: bytes) -> tuple[str | None, str | None]:
    """group_id and crossing, read leniently: intake judges the record, not the helper."""
    try:
        document = json.loads(raw)
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    group, crossing = document.get("group_id"), document.get("crossing")
    return (
        group if isinstance(group, str) else None,
        crossing if isinstance(crossing, str) else None,
    )


class KafkaSubmitter:
    """Publishes submissions to ``returns-inbound`` through the crossing partitioner."""

    def __init__(self, router: Router) -> None:
        self._producer = EventProducer(router, client_id="returns-upstream")

    @classmethod
    def from_env(cls) -> KafkaSubmitter:
        return cls(build_runtime().router)

    def __call__(self, record: Record) -> None:
        raw = _bytes(record)
        group_id, crossing = _routing(raw)
        self._producer.publish_bytes("returns-inbound", raw, key=group_id, crossing=crossing)

    def close(self) -> None:
        self._producer.flush()
        self._producer.close()

    def __enter__(self) -> KafkaSubmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class HttpSubmitter:
    """POSTs submissions to intake's ``/v1/returns`` with a bearer token."""

    def __init__(self, base_url: str, token: str, timeout: float = 10.0) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=httpx.Timeout(timeout, connect=3.0),
        )

    def __call__(self, record: Record) -> str:
        response = self._client.post("/v1/returns", content=_bytes(record))
        if response.status_code == 202:
            return str(response.json()["event_id"])
        if response.status_code in (413, 422):
            raise SubmissionRejected(response.status_code, response.json().get("errors", []))
        response.raise_for_status()
        raise RuntimeError(f"unexpected answer from intake: {response.status_code}")

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpSubmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class SubmitSummary:
    sent: int = 0
    rejected: int = 0
    problems: list[str] = field(default_factory=list)


def submit_lines(
    lines: Iterable[bytes],
    submit: Callable[[Record], object],
    advance: Callable[[], None] = lambda: None,
) -> SubmitSummary:
    """Submit each non-blank line; a rejected line is counted and the rest go on."""
    summary = SubmitSummary()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            submit(line.strip())
            summary.sent += 1
        except SubmissionRejected as exc:
            summary.rejected += 1
            summary.problems.append(f"line {number}: {exc}")
        advance()
    return summary
