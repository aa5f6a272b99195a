"""Who read what: every read of a location's groups is recorded on `access-logged` first."""

from __future__ import annotations

import json

import httpx

from services.runtime.access_log import PRINCIPAL_HEADER
from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.support.kafka import read_topic


def test_placement_records_each_ops_read_of_a_location_before_answering(
    runtime: Runtime, start_service: StartService
) -> None:
    placement = start_service("placement")
    one = httpx.get(
        f"{placement.url}/v1/locations/CJS", headers={PRINCIPAL_HEADER: "ops-alice"}, timeout=10
    )
    assert one.status_code == 200, one.text
    every = httpx.get(f"{placement.url}/v1/locations", timeout=10)
    assert every.status_code == 200
    assert httpx.get(f"{placement.url}/v1/locations/XYZ", timeout=10).status_code == 404

    records = read_topic(runtime.settings, "access-logged", until=lambda r: len(r) >= 2)
    reads = sorted((r.event().data for r in records), key=lambda d: d.read_at)
    assert [(d.principal, d.subject, d.subject_id, d.view) for d in reads] == [
        ("ops-alice", "location", "CJS", "GET /v1/locations/{code}"),
        ("anonymous@127.0.0.1", "location", "all", "GET /v1/locations"),
    ]
    assert all(d.reader == "placement" for d in reads)
    assert all(set(json.loads(r.value)["data"]) >= {"principal", "read_at"} for r in records)
