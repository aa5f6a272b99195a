"""Access records: who read what, with ids only."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import encode
from services.runtime.access_log import (
    access_event,
    command_principal,
    group_ids_in,
    http_principal,
)

NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_a_read_names_who_what_and_the_groups_shown_but_no_data() -> None:
    answer = {
        "location": "CJS",
        "queue": [{"group_id": "G-2026-000123", "beds": 3}, {"group_id": "G-2026-000124"}],
        "unplaceable": [{"group_id": "G-2026-000123"}],
    }
    envelope = access_event(
        principal="ops-alice",
        reader="placement",
        view="GET /v1/locations/{code}",
        subject="location",
        subject_id="CJS",
        group_ids=group_ids_in(answer),
        read_at=NOON,
    )
    assert envelope.data.group_ids == ["G-2026-000123", "G-2026-000124"]
    assert envelope.correlation_id == "CJS"
    assert b"beds" not in encode(envelope)
    again = access_event(
        principal="ops-alice",
        reader="placement",
        view="GET /v1/locations/{code}",
        subject="location",
        subject_id="CJS",
        read_at=NOON.replace(microsecond=1),
    )
    assert again.event_id != envelope.event_id  # every read is its own record


def test_principals_come_from_the_front_end_or_the_environment() -> None:
    assert http_principal({"X-Returns-Principal": "ops-alice"}, "10.0.0.7") == "ops-alice"
    assert http_principal({}, "10.0.0.7") == "anonymous@10.0.0.7"
    assert http_principal({"X-Returns-Principal": "María <script>"}, None) == "anonymous@unknown"
    assert command_principal({"RETURNS_PRINCIPAL": "auditor-bob"}) == "auditor-bob"
    assert command_principal({"KAFKA_SASL_USERNAME": "auditor"}) == "auditor"
