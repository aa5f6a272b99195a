"""Given partners behind a real local HTTP server, when notify delivers, then each request
reaches them signed, retried and recorded; and `returns notify redeliver` finishes the job
after an outage without duplicating what already arrived."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.notify.cli import notify_app
from services.notify.delivery import verify
from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_notify_support import (
    FAST,
    events_of,
    partners_file,
    placed_event,
    publish,
    running_partners,
    screened_event,
    secret,
    wait_until,
)
from tests.support.kafka import read_topic


def test_a_partner_that_fails_three_times_then_succeeds_gets_the_event_once_it_recovers(
    runtime: Runtime, start_service: StartService, tmp_path: Path
) -> None:
    with running_partners() as partners:
        partners.fail_next("/red-juridica", 3)
        config = partners_file(tmp_path, **{"red-juridica": partners.url("/red-juridica")})
        start_service("notify", RETURNS_PARTNERS_FILE=str(config), **FAST)

        publish(
            runtime,
            ("screened", screened_event(1, vaccinate_first=False)),
            ("placed", placed_event(1)),
        )

        (receipt,) = events_of(runtime, "notification-delivered", 1)
        (request,) = read_topic(runtime.settings, "legal-aid-requested", until=bool)
        (delivered,) = partners.delivered("/red-juridica")
    assert len(partners.tried("/red-juridica")) == 4
    assert (receipt.data.partner_id, receipt.data.attempts) == ("red-juridica", 4)
    assert receipt.data.notified_event_id == request.event().event_id
    assert receipt.causation_id == request.event().event_id
    assert delivered.body == request.value
    assert verify(delivered.body, secret("red-juridica"), delivered.headers["x-signature"])
    assert delivered.headers["idempotency-key"] == request.event().event_id
    assert delivered.headers["x-event-type"] == "legal-aid-requested"


def test_a_partner_down_longer_than_the_retries_gets_a_failure_then_redeliver_succeeds(
    runtime: Runtime,
    start_service: StartService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    with running_partners() as partners:
        partners.set_down("/salud", True)
        config = partners_file(
            tmp_path, salud=partners.url("/salud"), juridica=partners.url("/juridica")
        )
        retries = {**FAST, "RETURNS_NOTIFY_MAX_ATTEMPTS": "3"}
        start_service("notify", RETURNS_PARTNERS_FILE=str(config), **retries)
        publish(runtime, ("screened", screened_event(2)), ("placed", placed_event(2)))

        failed = events_of(runtime, "notification-failed", 2)
        assert {(f.data.partner_id, f.data.attempts, f.data.last_error) for f in failed} == {
            ("salud", 3, "HTTP 503")
        }
        wait_until(lambda: len(partners.delivered("/juridica")) == 2, 30, "juridica's deliveries")

        partners.set_down("/salud", False)
        for name, value in {
            "KAFKA_BOOTSTRAP_SERVERS": runtime.settings.bootstrap_servers,
            "RETURNS_TOPIC_PREFIX": runtime.settings.topic_prefix,
            **retries,
        }.items():
            monkeypatch.setenv(name, value)
        args = ["redeliver", "--partner", "salud", "--since", started.isoformat()]
        args += ["--partners-file", str(config)]
        first = CliRunner().invoke(notify_app, args)
        again = CliRunner().invoke(notify_app, args)

        delivered = events_of(runtime, "notification-delivered", 4, settle=1.0)
        salud = partners.delivered("/salud")
        juridica = partners.delivered("/juridica")
    assert first.exit_code == 0, first.output
    assert "delivered 2, failed 0" in first.output
    assert again.exit_code == 0, again.output
    assert "nothing to redeliver to salud" in again.output
    assert sorted(r.headers["idempotency-key"] for r in salud) == sorted(
        f.data.notified_event_id for f in failed
    )
    assert len(juridica) == 2  # redelivery never touches another partner
    assert sorted(d.data.partner_id for d in delivered) == ["juridica"] * 2 + ["salud"] * 2
    for received in salud:
        assert verify(received.body, secret("salud"), received.headers["x-signature"])
