"""Given legal-aid requests on a real broker, when partners report progress over HTTP or
say nothing, then notify records only applied transitions, moves declined and unanswered
requests to the next provider, counts the overdue ones, and keeps its deadlines through a
restart.

A family from El Paso referred for fear of return gets an interview request at Ciudad
Juárez (CJS); its return was days ago, so the interview is already past due.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from schemas.envelope import event_id_for, make_envelope
from schemas.requests import ProviderCapacityChanged
from services.notify.delivery import sign
from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_notify_support import (
    FAST,
    committed_offsets,
    events_of,
    publish,
    running_partners,
    screened_event,
    wait_until,
)
from tests.support.kafka import read_topic
from tests.support.services import ServiceProcess

LAWYERS = "red-juridica-juarez"  # serves LA-CJS-01 and LA-CJS-02
CLINIC = "clinica-juarez"  # serves LA-CJS-03 and LA-CJS-04
SERVES = {LAWYERS: ["LA-CJS-01", "LA-CJS-02"], CLINIC: ["LA-CJS-03", "LA-CJS-04"]}
QUICK = {**FAST, "RETURNS_NOTIFY_TICK_SECONDS": "0.5"}
StartNotify = Callable[..., ServiceProcess]


def secret(partner_id: str) -> str:
    return f"progress-secret-of-{partner_id}"


def progress_partners(tmp_path: Path, url: str) -> Path:
    entries = [
        f'[[partners]]\npartner_id = "{partner}"\nurl = "{url}"\nsecret = "{secret(partner)}"\n'
        f'event_types = ["legal-aid-requested"]\nlocations = ["CJS"]\n'
        f"provider_ids = {json.dumps(providers)}\n"
        for partner, providers in SERVES.items()
    ]
    path = tmp_path / "partners.toml"
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


def holder(provider_id: str) -> str:
    return next(partner for partner, providers in SERVES.items() if provider_id in providers)


def report(
    notify: ServiceProcess,
    event_id: str,
    status: str,
    *,
    partner: str,
    key: str | None = None,
    at: datetime | None = None,
    body: bytes | None = None,
    content_type: str = "application/json",
) -> httpx.Response:
    """POST a status report signed with `key` (default: the partner's own secret)."""
    raw = body
    if raw is None:
        when = (at or datetime.now(UTC)).isoformat()
        raw = json.dumps({"status": status, "status_at": when, "reason_code": None}).encode()
    headers = {
        "Content-Type": content_type,
        "X-Partner-Id": partner,
        "X-Signature": sign(raw, key or secret(partner)),
    }
    return httpx.post(
        f"{notify.url}/v1/requests/{event_id}/status", content=raw, headers=headers, timeout=10
    )


@pytest.fixture
def start_notify(start_service: StartService, tmp_path: Path) -> Iterator[StartNotify]:
    """Start notify with both partners (their webhooks answered by a local server)."""
    with running_partners() as partners:
        hooks = progress_partners(tmp_path, partners.url("/hooks"))

        def start(**env: str) -> ServiceProcess:
            return start_service("notify", **QUICK, RETURNS_PARTNERS_FILE=str(hooks), **env)

        yield start


def requests_of(runtime: Runtime, count: int, timeout: float = 45.0) -> list[Any]:
    return events_of(runtime, "legal-aid-requested", count, timeout=timeout)


def metric(notify: ServiceProcess, name: str, location: str) -> float:
    text = httpx.get(f"{notify.url}/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(f'{name}{{location="{location}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_declined_request_moves_to_the_next_provider(
    runtime: Runtime, start_notify: StartNotify
) -> None:
    notify = start_notify()
    publish(runtime, ("screened", screened_event(41, decision="referred", fear=True)))
    (first,) = requests_of(runtime, 1)
    provider = first.data.provider_id

    accepted_then_declined = report(notify, first.event_id, "declined", partner=holder(provider))
    assert accepted_then_declined.status_code == 202, accepted_then_declined.text

    _, second = requests_of(runtime, 2)
    assert second.data.replaces == first.event_id
    assert second.data.reassigned_because == "DECLINED"
    assert second.data.provider_id != provider
    assert second.data.location == "CJS"
    assert second.data.due_by == first.data.due_by
    (withdrawal,) = events_of(runtime, "request-updated", 1)
    assert (withdrawal.data.request_event_id, withdrawal.data.reason) == (
        first.event_id,
        "REASSIGNED",
    )
    (declined,) = events_of(runtime, "legal-aid-updated", 1)
    assert (declined.data.status, declined.data.partner_id) == ("declined", holder(provider))
    # The replaced request takes no more reports; the new one is the partner's to accept.
    assert report(notify, first.event_id, "accepted", partner=holder(provider)).status_code == 409
    new_holder = holder(second.data.provider_id)
    assert report(notify, second.event_id, "accepted", partner=new_holder).status_code == 202


def test_an_unanswered_request_is_overdue_counted_and_reassigned(
    runtime: Runtime, start_notify: StartNotify
) -> None:
    notify = start_notify(RETURNS_LEGAL_AID_INTERVIEW_ACCEPT_MINUTES="0.2")  # 12 s to accept
    publish(runtime, ("screened", screened_event(42, decision="referred", fear=True)))
    (first,) = requests_of(runtime, 1)
    assert first.data.accept_by is not None
    assert first.data.due_by < datetime.now(UTC)  # returned days ago: already past due

    wait_until(
        lambda: metric(notify, "returns_legal_aid_overdue", "CJS") >= 1,
        timeout=30,
        what="the overdue interview to be counted at CJS",
    )
    page = httpx.get(f"{notify.url}/notify/requests", timeout=5).json()
    assert page["locations"]["CJS"]["overdue"] == 1
    assert [o["request_event_id"] for o in page["overdue"]] == [first.event_id]
    assert "A30000042" not in json.dumps(page)  # no case id, nothing about the family

    _, second = requests_of(runtime, 2)
    assert (second.data.replaces, second.data.reassigned_because) == (
        first.event_id,
        "NOT_ACCEPTED_IN_TIME",
    )
    assert second.data.provider_id != first.data.provider_id
    assert second.occurred_at >= first.data.accept_by


def test_deadlines_survive_a_restart_of_notify(runtime: Runtime, start_notify: StartNotify) -> None:
    notify = start_notify(RETURNS_LEGAL_AID_INTERVIEW_ACCEPT_MINUTES="0.25")  # 15 s to accept
    publish(runtime, ("screened", screened_event(43, decision="referred", fear=True)))
    (first,) = requests_of(runtime, 1)
    notify.stop()

    accept_by = first.data.accept_by
    wait_until(
        lambda: datetime.now(UTC) > accept_by + timedelta(seconds=1),
        timeout=30,
        what="the acceptance time to pass while notify is stopped",
    )
    assert len(read_topic(runtime.settings, "legal-aid-requested", timeout=1.0)) == 1
    restarted = time.monotonic()
    notify.start()

    _, second = requests_of(runtime, 2)
    assert second.data.replaces == first.event_id
    assert second.data.reassigned_because == "NOT_ACCEPTED_IN_TIME"
    assert time.monotonic() - restarted < 60


def test_forged_and_out_of_order_reports_are_refused_and_nothing_is_written(
    runtime: Runtime, start_notify: StartNotify
) -> None:
    notify = start_notify()
    publish(runtime, ("screened", screened_event(44, decision="referred", fear=True)))
    (request,) = requests_of(runtime, 1)
    mine = holder(request.data.provider_id)
    other = CLINIC if mine == LAWYERS else LAWYERS
    event_id = request.event_id

    assert report(notify, event_id, "accepted", partner=mine, key="guessed").status_code == 401
    signed_by_other = report(notify, event_id, "accepted", partner=mine, key=secret(other))
    assert signed_by_other.status_code == 401
    assert report(notify, event_id, "accepted", partner="nobody").status_code == 401
    someone_elses = report(notify, event_id, "accepted", partner=other)
    assert someone_elses.status_code == 403
    early = report(notify, event_id, "first_contact", partner=mine)
    assert early.status_code == 409
    assert early.json()["message"] == "first_contact_not_allowed_after_issued"
    assert report(notify, "no-such-request", "accepted", partner=mine).status_code == 404
    malformed = report(notify, event_id, "accepted", partner=mine, body=b"{not json")
    assert malformed.status_code == 400
    wrong_field = json.dumps({"status": "accepted", "status_at": "yesterday"}).encode()
    invalid = report(notify, event_id, "accepted", partner=mine, body=wrong_field)
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "status_at"
    future = datetime.now(UTC) + timedelta(days=1)
    assert report(notify, event_id, "accepted", partner=mine, at=future).status_code == 422
    as_text = report(notify, event_id, "accepted", partner=mine, content_type="text/plain")
    assert as_text.status_code == 415
    for topic in ("request-status-reported", "legal-aid-updated"):
        assert read_topic(runtime.settings, topic, timeout=2.0) == [], topic

    at = datetime.now(UTC)
    assert report(notify, event_id, "accepted", partner=mine, at=at).status_code == 202
    (accepted,) = events_of(runtime, "legal-aid-updated", 1)
    assert accepted.data.status == "accepted"
    wait_until(
        lambda: report(notify, event_id, "accepted", partner=mine, at=at).status_code == 200,
        timeout=15,
        what="an identical repeat to be answered 200",
    )
    assert report(notify, event_id, "first_contact", partner=mine).status_code == 202
    updates = events_of(runtime, "legal-aid-updated", 2, settle=1.0)
    assert [u.data.status for u in updates] == ["accepted", "first_contact"]


def test_a_provider_whose_capacity_drops_to_zero_is_skipped(
    runtime: Runtime, start_notify: StartNotify
) -> None:
    # LA-CJS-01 is the only provider at CJS working in Mam: a Mam-speaking family would
    # go to it (test_notify_requests), unless it has no room.
    start_notify()
    change = make_envelope(
        ProviderCapacityChanged(
            provider_id="LA-CJS-01", capacity=0, changed_by="ops-cjs", note="STAFF_ON_LEAVE"
        ),
        event_id=event_id_for("provider-capacity-changed", "LA-CJS-01", "0"),
        producer="partners-test/0",
        correlation_id="LA-CJS-01",
        causation_id=None,
        crossing=None,
    )
    publish(runtime, ("provider-capacity-changed", change))
    family = screened_event(45, decision="referred", fear=True, interpreter="mam")
    partition = runtime.router.route_event("screened", family).partition

    def copy_applied() -> bool:
        copies = [
            r.offset
            for r in read_topic(runtime.settings, "notify-clock", timeout=0.5)
            if r.partition == partition and b"capacity" in r.value
        ]
        done = committed_offsets(runtime, "notify-clock").get(partition, 0)
        return bool(copies) and done > copies[0]

    wait_until(copy_applied, timeout=30, what="the capacity change to reach the partition")
    publish(runtime, ("screened", family))

    (request,) = requests_of(runtime, 1)
    assert request.data.preferred_language == "mam"
    assert request.data.provider_id != "LA-CJS-01"
    assert request.data.provider_choice.startswith("every provider covering mam at capacity")
