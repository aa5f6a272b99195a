"""Given decisions on a real broker, when notify runs, then it asks the right partners.

Notify runs as a real process (`python -m services.notify worker`) with no webhooks.
"""

from __future__ import annotations

from datetime import timedelta

from services.runtime.context import Runtime
from tests.conftest import StartService
from tests.integration.test_notify_support import (
    RETURNED_AT,
    committed_offsets,
    events_of,
    group_id,
    placed_event,
    publish,
    screened_event,
    wait_until,
)


def test_a_placed_family_gets_one_legal_aid_request_and_its_vaccination(
    runtime: Runtime, start_service: StartService
) -> None:
    # A Mam-speaking family with a hearing in 10 days, and a Spanish-speaking one in 40.
    start_service("notify")
    publish(
        runtime,
        ("screened", screened_event(1, interpreter="mam", hearing_in_days=10)),
        ("screened", screened_event(2, hearing_in_days=40)),
        ("placed", placed_event(1)),
        ("placed", placed_event(2)),
    )

    requests = {e.data.group_id: e for e in events_of(runtime, "legal-aid-requested", 2)}
    care = events_of(runtime, "care-requested", 2)

    mam = requests[group_id(1)].data
    assert (mam.purpose, mam.priority, mam.provider_id) == (
        "immigration_hearing",
        "urgent",
        "LA-CJS-01",
    )
    assert mam.provider_choice == "covers mam; 0 open requests"
    assert (mam.preferred_language, mam.interpreter_required) == ("mam", True)
    assert (mam.location, mam.shelter_id) == ("CJS", "CJS-S01")
    assert mam.members == ["A300000010", "A300000011"]
    assert mam.earliest_hearing_at == RETURNED_AT + timedelta(days=10)
    spanish = requests[group_id(2)].data
    assert (spanish.priority, spanish.preferred_language) == ("normal", "spa")
    assert spanish.provider_choice.startswith("covers spa; ")
    assert sorted((c.data.case_id, c.data.kind, c.data.provider_id) for c in care) == [
        ("A300000010", "covid_vaccination", "HP-CJS-01"),
        ("A300000020", "covid_vaccination", "HP-CJS-01"),
    ]
    assert {c.causation_id for c in care} == {placed_event(1).event_id, placed_event(2).event_id}


def test_a_placed_event_seen_before_its_screened_waits_for_it(
    runtime: Runtime, start_service: StartService
) -> None:
    start_service("notify")
    placed = placed_event(7)
    publish(runtime, ("placed", placed))
    partition = runtime.router.route_event("placed", placed).partition
    wait_until(
        lambda: committed_offsets(runtime, "placed").get(partition, 0) >= 1,
        timeout=30,
        what="notify to have consumed the placed event",
    )

    publish(runtime, ("screened", screened_event(7, hearing_in_days=3)))

    (request,) = events_of(runtime, "legal-aid-requested", 1)
    assert request.causation_id == placed.event_id
    assert (request.data.group_id, request.data.priority) == (group_id(7), "urgent")


def test_a_family_referred_for_fear_of_return_gets_an_urgent_interview_request(
    runtime: Runtime, start_service: StartService
) -> None:
    start_service("notify")
    referred = screened_event(9, decision="referred", fear=True, size=3)
    incomplete = screened_event(10, decision="referred", fear=False)
    publish(runtime, ("screened", incomplete), ("screened", referred))

    (request,) = events_of(runtime, "legal-aid-requested", 1, settle=1.0)
    data = request.data
    assert (data.purpose, data.priority) == ("non_refoulement_interview", "urgent")
    assert data.due_by == RETURNED_AT + timedelta(hours=24)
    assert (data.location, data.shelter_id) == ("CJS", None)
    assert data.members == ["A300000090", "A300000091", "A300000092"]
    assert request.causation_id == referred.event_id
