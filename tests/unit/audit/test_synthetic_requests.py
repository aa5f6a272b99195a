"""Generated histories follow notify's and screening's own rules, not look-alikes."""

from __future__ import annotations

from typing import Any

from schemas.envelope import Envelope, digest_of
from schemas.person import person_returned_event_id
from services.audit.synthetic import HistoryOptions, synthetic_history
from services.notify.changes import rereferral
from services.notify.ledger import OpenRequest
from services.notify.requests import referred_for_fear
from services.reference import load_reference

REFERENCE = load_reference()


def test_each_interview_update_is_what_notify_writes_for_the_new_decision() -> None:
    events = list(synthetic_history(REFERENCE, HistoryOptions(groups=300, seed=2)))
    interviews: dict[str, OpenRequest] = {}
    decisions = {}
    updates = []
    for topic, envelope in events:
        if topic == "legal-aid-requested" and envelope.data.purpose == "non_refoulement_interview":
            interviews[envelope.data.group_id] = OpenRequest.of(envelope.event_id, envelope.data)
        elif topic == "screened":
            decisions[envelope.event_id] = envelope.data
        elif topic == "request-updated":
            updates.append(envelope.data)
    assert updates, "the seed gives groups no longer referred after a correction"
    for update in updates:
        request = interviews[update.group_id]
        decision = decisions[update.caused_by]
        expected = rereferral([request], decision, update.caused_by, referred_for_fear(decision))
        assert [u for _, u in expected.updates] == [update]
        assert update.location == request.location  # partners of that location are told


def test_a_decision_after_a_correction_is_taken_on_the_corrected_record() -> None:
    events = list(synthetic_history(REFERENCE, HistoryOptions(groups=300, seed=2)))
    arrived: dict[str, list[Envelope[Any]]] = {}
    checked = 0
    for topic, envelope in events:
        if topic == "person-returned":
            arrived.setdefault(envelope.data.group_id, []).append(envelope)
        elif topic == "screened":
            records = arrived[envelope.data.group_id]
            replaced = {
                person_returned_event_id(r.data.source, r.data.corrects)
                for r in records
                if r.data.corrects
            }
            if not replaced:
                continue
            current = [r.event_id for r in records if r.event_id not in replaced]
            assert envelope.causation_id == digest_of(current)
            checked += 1
    assert checked > 0
