"""Who takes a request its provider declined or did not accept in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.requests import LegalAidRequested
from services.notify.deadlines import DeadlinePolicy
from services.notify.reassign import reassign
from services.notify.requests import choose_legal_aid_provider, legal_aid_for_placement
from tests.unit.notify.notify_factories import JUAREZ_LEGAL_AID, placed, screened

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ISSUED = NOW - timedelta(hours=3)
POLICY = DeadlinePolicy()


def hearing() -> LegalAidRequested:
    return legal_aid_for_placement(
        placed(), screened(), JUAREZ_LEGAL_AID, {}, capacity={}, issued_at=ISSUED
    )


def test_a_declined_request_goes_to_another_provider_and_names_the_one_it_replaces() -> None:
    first = hearing()
    moved = reassign(first, "req-1", "DECLINED", JUAREZ_LEGAL_AID, {}, {}, NOW, POLICY)
    new = moved.request
    assert new.provider_id != first.provider_id
    assert (new.replaces, new.reassigned_because) == ("req-1", "DECLINED")
    assert new.due_by == first.due_by  # the group's deadline does not move
    assert new.accept_by == NOW + timedelta(hours=2)
    assert (new.members, new.location, new.shelter_id) == (
        first.members,
        first.location,
        first.shelter_id,
    )
    assert not moved.fallback
    assert new.provider_choice.startswith("reassigned (DECLINED): covers spa")


def test_a_provider_at_capacity_is_skipped_while_another_has_room() -> None:
    first = hearing()
    others = [p.id for p in JUAREZ_LEGAL_AID if p.location == "CJS" and p.id != first.provider_id]
    full = {provider_id: 2 for provider_id in others[:-1]}
    load = dict.fromkeys(others[:-1], 2)
    moved = reassign(
        first, "req-1", "NOT_ACCEPTED_IN_TIME", JUAREZ_LEGAL_AID, load, full, NOW, POLICY
    )
    assert moved.request.provider_id == others[-1]
    assert not moved.fallback


def test_with_no_room_anywhere_the_least_loaded_provider_takes_it_even_the_same_one() -> None:
    first = hearing()
    everyone = {p.id: 1 for p in JUAREZ_LEGAL_AID}
    load = {p.id: 5 for p in JUAREZ_LEGAL_AID} | {first.provider_id: 1}
    moved = reassign(first, "req-1", "DECLINED", JUAREZ_LEGAL_AID, load, everyone, NOW, POLICY)
    assert moved.fallback
    assert moved.request.provider_id == first.provider_id
    assert "no other provider has room" in moved.request.provider_choice

    even = dict.fromkeys(everyone, 5)
    moved = reassign(first, "req-1", "DECLINED", JUAREZ_LEGAL_AID, even, everyone, NOW, POLICY)
    assert moved.fallback
    assert moved.request.provider_id != first.provider_id


def test_a_first_request_skips_a_provider_at_capacity_unless_all_are() -> None:
    mam_speaker = "LA-CJS-01"
    juarez = [p for p in JUAREZ_LEGAL_AID if p.location == "CJS"]
    chosen, why = choose_legal_aid_provider(juarez, "mam", {mam_speaker: 3}, {mam_speaker: 3})
    assert chosen.id != mam_speaker
    assert why == "every provider covering mam at capacity; least loaded (0 open requests)"
    everyone_full = {p.id: 0 for p in juarez}
    chosen, why = choose_legal_aid_provider(juarez, "mam", {}, everyone_full)
    assert chosen.id == mam_speaker
    assert why.endswith("every provider at capacity")
