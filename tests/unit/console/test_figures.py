"""Charts and the requests table, from events as they are recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.base import EventData
from schemas.decisions import Placed, PlacementDeferred
from schemas.envelope import event_id_for, make_envelope
from schemas.requests import (
    CareRequested,
    LegalAidRequested,
    NotificationDelivered,
    NotificationFailed,
    RequestUpdated,
)
from services.audit.events import Logged
from services.console.charts import bars_svg, placement_figures
from services.console.requests_view import request_rows

DAY1 = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def logged(topic: str, data: EventData, at: datetime, *parts: str) -> Logged:
    envelope = make_envelope(
        data,
        event_id=event_id_for(data.EVENT_TYPE, *parts, at.isoformat()),
        producer="test/1",
        correlation_id=getattr(data, "group_id", "x"),
        causation_id=None,
        crossing="ELP",
        occurred_at=at,
    )
    return Logged.of(topic, envelope)


def deferred(group: str, at: datetime, since: datetime, position: int = 1) -> Logged:
    data = PlacementDeferred(
        group_id=group,
        location="CJS",
        reason="LOCATION_SUSPENDED",
        deferred_since=since,
        beds=2,
        members=["A300000001", "A300000002"],
        queue_position=position,
    )
    return logged("placement-deferred", data, at, group, str(position))


def placed(group: str, location: str, at: datetime, since: datetime | None) -> Logged:
    data = Placed(
        group_id=group,
        location=location,
        shelter_id=f"{location}-S01",
        members=["A300000001"],
        beds=1,
        rerouted_from=None,
        transport_required=False,
        deferred_since=since,
    )
    return logged("placed", data, at, group)


def test_a_group_deferred_twice_counts_once_and_waits_from_its_first_deferral() -> None:
    events = [
        deferred("G-1", DAY1, DAY1),
        deferred("G-1", DAY1 + timedelta(minutes=3), DAY1, position=2),
        placed("G-1", "CJS", DAY1 + timedelta(minutes=40), DAY1),
        placed("G-2", "CJS", DAY2, None),
        placed("G-3", "TIJ", DAY2, None),
    ]
    figures = placement_figures(events)
    assert figures.days == [DAY1.date(), DAY2.date()]
    assert figures.locations == ["CJS", "TIJ"]
    assert figures.deferred[(DAY1.date(), "CJS")] == 1
    assert figures.placed[(DAY1.date(), "CJS")] == 1
    assert figures.placed[(DAY2.date(), "CJS")] == 1
    assert figures.waits["CJS"] == [2400.0, 0.0]
    assert figures.median_wait("CJS") == 1200.0
    assert dict(figures.wait_bands()) == {
        "0": 2,
        "< 5 min": 0,
        "5-30 min": 0,
        "30 min-2 h": 1,
        "2-12 h": 0,
        "> 12 h": 0,
    }


def test_the_chart_is_inline_svg_with_a_title_and_one_bar_per_value() -> None:
    svg = bars_svg(
        "Placements <CJS>",
        ["11-30", "12-01"],
        [("placed", "#111", [3, 0]), ("deferred", "#222", [1, 2])],
    )
    assert svg.startswith("<svg")
    assert 'role="img"' in svg
    assert "<title>Placements &lt;CJS&gt;</title>" in svg  # escaped, never raw markup
    assert svg.count("<rect") == 4 + 2  # four bars and two legend keys
    assert "placed 11-30: 3" in svg
    assert "deferred 12-01: 2" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched


def legal_aid(group: str, at: datetime, priority: str = "urgent") -> Logged:
    data = LegalAidRequested(
        group_id=group,
        purpose="immigration_hearing",
        priority=priority,  # type: ignore[arg-type]
        provider_id="LA-CJS-01",
        provider_choice="covers spa; 0 open requests",
        location="CJS",
        shelter_id="CJS-S01",
        members=["A300000001"],
        earliest_hearing_at=None,
        preferred_language="spa",
        interpreter_required=False,
        due_by=at + timedelta(hours=24),
    )
    return logged("legal-aid-requested", data, at, group)


def receipt(request: Logged, ok: bool, at: datetime) -> Logged:
    common: dict[str, Any] = {
        "group_id": request.envelope.data.group_id,
        "partner_id": "LA-CJS-01",
        "notified_event_id": request.event_id,
        "notified_event_type": request.envelope.event_type,
        "attempts": 3,
    }
    if ok:
        data: EventData = NotificationDelivered(**common, status_code=200, delivered_at=at)
        return logged("notification-delivered", data, at, request.event_id, "ok")
    data = NotificationFailed(**common, last_error="HTTP 503", failed_at=at)
    return logged("notification-failed", data, at, request.event_id, "failed")


def test_requests_show_their_delivery_and_whether_they_are_overdue_or_withdrawn() -> None:
    failed_then_sent = legal_aid("G-1", DAY1)
    sent = legal_aid("G-2", DAY1, priority="normal")
    withdrawn = legal_aid("G-3", DAY1)
    care = CareRequested(
        group_id="G-2",
        case_id="A300000002",
        kind="covid_vaccination",
        provider_id="HP-CJS-01",
        location="CJS",
        shelter_id="CJS-S01",
    )
    update = RequestUpdated(
        group_id="G-3",
        request_event_id=withdrawn.event_id,
        request_type="legal-aid-requested",
        provider_id="LA-CJS-01",
        change="withdrawn",
        reason="NO_LONGER_ACCEPTED",
        caused_by="e",
        members=["A300000001"],
    )
    events = [
        failed_then_sent,
        sent,
        withdrawn,
        logged("care-requested", care, DAY1, "care"),
        receipt(failed_then_sent, ok=False, at=DAY1 + timedelta(minutes=5)),
        receipt(failed_then_sent, ok=True, at=DAY1 + timedelta(minutes=50)),
        receipt(sent, ok=True, at=DAY1 + timedelta(minutes=1)),
        logged("request-updated", update, DAY1 + timedelta(hours=1), "upd"),
    ]
    rows = {(r.group_id, r.kind): r for r in request_rows(events)}
    assert rows[("G-1", "immigration_hearing")].delivery == "redelivered"
    assert rows[("G-2", "immigration_hearing")].delivery == "delivered"
    assert rows[("G-2", "covid_vaccination")].delivery == "pending"
    assert rows[("G-3", "immigration_hearing")].withdrawn
    later = DAY1 + timedelta(hours=30)
    assert rows[("G-1", "immigration_hearing")].overdue(later)
    assert not rows[("G-3", "immigration_hearing")].overdue(later)  # withdrawn: nobody owes it
    assert [r.provider_id for r in request_rows(events)] == ["HP-CJS-01", *["LA-CJS-01"] * 3]
