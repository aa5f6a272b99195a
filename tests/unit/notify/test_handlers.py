"""The request issuer over plain dicts: what each decision causes, and what a replay re-sends."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.unit.notify.issuer_harness import (
    OTHER_PLACED_ID,
    PARTITION,
    Notify,
    place,
    placed_envelope,
    screened_envelope,
)
from tests.unit.notify.notify_factories import (
    MOTHER,
    PLACED_EVENT_ID,
    SCREENED_EVENT_ID,
    SON,
    placed,
    referred_for_fear,
    screened,
)


async def test_a_placed_family_gets_a_legal_aid_request_and_one_vaccination() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
    await place(notify, placed_envelope(placed()))

    legal_aid, care = notify.events()
    assert (legal_aid.event_type, care.event_type) == ("legal-aid-requested", "care-requested")
    assert legal_aid.data.provider_id == "LA-CJS-01"
    assert legal_aid.data.provider_choice == "covers spa; 0 open requests"
    assert (legal_aid.causation_id, legal_aid.correlation_id) == (PLACED_EVENT_ID, "G-2026-000123")
    assert (care.data.case_id, care.data.provider_id) == (SON, "HP-CJS-01")
    assert notify.load == {"3/LA-CJS-01": b"1"}


async def test_the_next_family_goes_to_the_least_loaded_provider() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
    await place(notify, placed_envelope(placed()))
    other = screened(group_id="G-2026-000124")
    await notify.issuer.on_screened(screened_envelope(other, OTHER_PLACED_ID), PARTITION)
    await place(notify, placed_envelope(placed(group_id="G-2026-000124"), OTHER_PLACED_ID))

    second = notify.events()[2]
    assert (second.data.provider_id, second.data.provider_choice) == (
        "LA-CJS-02",
        "covers spa; 0 open requests",
    )


async def test_a_placed_event_seen_again_re_sends_the_same_bytes_without_choosing_again() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
    envelope = placed_envelope(placed())
    await place(notify, envelope)
    first = list(notify.published)
    notify.load["3/LA-CJS-01"] = b"99"  # the load changed meanwhile: no new choice is made

    await place(notify, envelope)

    assert notify.published == first + first
    assert notify.load == {"3/LA-CJS-01": b"99"}


async def test_requests_are_stored_before_they_are_published() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
    await place(notify, placed_envelope(placed()))
    assert PLACED_EVENT_ID in notify.issued_when_published[-1]


async def test_a_placed_event_seen_before_its_decision_is_completed_by_the_decision() -> None:
    notify = Notify()
    await place(notify, placed_envelope(placed()))
    assert notify.published == []

    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
    issued = list(notify.published)
    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)  # a replay

    assert [e.causation_id for e in notify.events()[:2]] == [PLACED_EVENT_ID] * 2
    assert notify.published == issued + issued
    assert set(notify.issued) == {PLACED_EVENT_ID, SCREENED_EVENT_ID}


async def test_a_fear_referral_gets_an_urgent_interview_and_an_incomplete_group_nothing() -> None:
    notify = Notify()
    incomplete = screened(
        decision="referred", reasons=[{"case_id": None, "code": "GROUP_INCOMPLETE"}]
    )
    await notify.issuer.on_screened(screened_envelope(incomplete, OTHER_PLACED_ID), PARTITION)
    await notify.issuer.on_screened(screened_envelope(referred_for_fear()), PARTITION)

    (request,) = notify.events()
    assert (request.data.purpose, request.data.priority) == ("non_refoulement_interview", "urgent")
    assert request.data.due_by == datetime.fromisoformat("2026-11-28T15:58:00-07:00")
    assert request.causation_id == SCREENED_EVENT_ID
    assert request.data.members[0] == MOTHER


async def test_a_late_members_decision_joins_the_groups_decision() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
    late = screened(
        members=[
            {
                "case_id": "A212345681",
                "flags": [],
                "needs": ["covid_vaccination", "legal_aid"],
                "interpreter_language": None,
            }
        ],
        decided_after=SCREENED_EVENT_ID,
        group_size=4,
    )
    await notify.issuer.on_screened(screened_envelope(late, OTHER_PLACED_ID), PARTITION)
    members = [*placed().members, "A212345681"]
    await place(notify, placed_envelope(placed(members=members, beds=4)))

    vaccinations = [e.data.case_id for e in notify.events() if e.event_type == "care-requested"]
    assert vaccinations == [SON, "A212345681"]


@pytest.mark.parametrize("crossing", [None, "XXX"])
async def test_a_referral_from_an_unknown_crossing_is_logged_not_requested(
    crossing: str | None,
) -> None:
    notify = Notify()
    envelope = screened_envelope(referred_for_fear()).model_copy(update={"crossing": crossing})
    await notify.issuer.on_screened(envelope, PARTITION)
    assert notify.published == []
