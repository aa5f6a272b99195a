"""Requests follow the group's live decision and placement: amended, withdrawn, never doubled."""

from __future__ import annotations

from typing import Any

from schemas.envelope import Envelope, event_id_for
from services.notify.requests import request_event_id
from tests.unit.notify.issuer_harness import (
    PARTITION,
    Notify,
    place,
    placed_envelope,
    screened_envelope,
    withdrawn_envelope,
)
from tests.unit.notify.notify_factories import (
    DAUGHTER,
    MOTHER,
    PLACED_EVENT_ID,
    SCREENED_EVENT_ID,
    SON,
    member,
    placed,
    referred_for_fear,
    screened,
    withdrawal,
)

BABY = "A212345681"
REDECIDED_ID = event_id_for("screened", "re-decided with the baby")
REPLACED_ID = event_id_for("placed", "placed again with the baby")
WITHDRAWN_ID = event_id_for("placement-withdrawn", "released")
HEARING_ID = request_event_id("legal-aid-requested", PLACED_EVENT_ID)
SON_CARE_ID = request_event_id("care-requested", PLACED_EVENT_ID, SON)
FAMILY = [MOTHER, SON, DAUGHTER]


def with_baby(**overrides: Any) -> Any:
    """The family re-decided once its baby, who needs a vaccination, arrived."""
    members = [member(c) for c in (MOTHER, DAUGHTER)]
    members += [member(SON, needs=("covid_vaccination", "legal_aid"))]
    members += [member(BABY, needs=("covid_vaccination",))]
    fields: dict[str, Any] = {
        "members": sorted(members, key=lambda m: m["case_id"]),
        "group_size": 4,
        "supersedes": SCREENED_EVENT_ID,
        "revision": 2,
    }
    return screened(**(fields | overrides))


async def placed_family(notify: Notify) -> None:
    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
    await place(notify, placed_envelope(placed()))


async def re_placed(notify: Notify, **placement: Any) -> list[Envelope[Any]]:
    """The family re-decided with the baby, released and placed again; what that caused."""
    await notify.issuer.on_screened(screened_envelope(with_baby(), REDECIDED_ID), PARTITION)
    release = withdrawal("GROUP_CHANGED", PLACED_EVENT_ID, screened_event_id=REDECIDED_ID)
    await notify.issuer.on_withdrawn(withdrawn_envelope(release, WITHDRAWN_ID), PARTITION)
    before = len(notify.published)
    fields = {"members": [*FAMILY, BABY], "beds": 4} | placement
    again = placed_envelope(placed(**fields), REPLACED_ID)
    await place(notify, again.model_copy(update={"causation_id": REDECIDED_ID}))
    return notify.events()[before:]


def summary(events: list[Envelope[Any]]) -> list[tuple[str, ...]]:
    """(type, change or purpose/case, reason) of each event."""
    rows: list[tuple[str, ...]] = []
    for e in events:
        if e.event_type == "request-updated":
            rows.append((e.event_type, e.data.request_event_id, e.data.change, e.data.reason))
        elif e.event_type == "care-requested":
            rows.append((e.event_type, e.data.case_id))
        else:
            rows.append((e.event_type, e.data.purpose))
    return rows


async def test_a_family_re_placed_at_the_same_location_has_its_request_amended() -> None:
    notify = Notify()
    await placed_family(notify)

    caused = await re_placed(notify, shelter_id="CJS-S05")

    assert summary(caused) == [
        ("request-updated", HEARING_ID, "amended", "GROUP_CHANGED"),
        ("request-updated", SON_CARE_ID, "amended", "GROUP_CHANGED"),
        ("care-requested", BABY),
    ]
    hearing = caused[0]
    assert hearing.data.members == [*FAMILY, BABY]
    assert (hearing.data.location, hearing.data.shelter_id) == ("CJS", "CJS-S05")
    assert (hearing.data.provider_id, hearing.data.priority) == ("LA-CJS-01", "normal")
    assert (hearing.data.caused_by, hearing.causation_id) == (REPLACED_ID, REPLACED_ID)
    assert caused[0].event_id == request_event_id("request-updated", REPLACED_ID, HEARING_ID)
    assert caused[2].data.provider_id == "HP-CJS-01"
    assert notify.load == {"3/LA-CJS-01": b"1"}  # still one open request, not two


async def test_a_re_placement_in_the_same_shelter_only_adds_the_new_members_care() -> None:
    notify = Notify()
    await placed_family(notify)
    caused = await re_placed(notify)
    assert summary(caused) == [
        ("request-updated", HEARING_ID, "amended", "GROUP_CHANGED"),
        ("care-requested", BABY),
    ]


async def test_a_family_re_placed_elsewhere_is_withdrawn_there_and_requested_anew() -> None:
    notify = Notify()
    await placed_family(notify)

    caused = await re_placed(notify, location="TIJ", shelter_id="TIJ-S01", rerouted_from="CJS")

    assert summary(caused) == [
        ("request-updated", HEARING_ID, "withdrawn", "GROUP_CHANGED"),
        ("request-updated", SON_CARE_ID, "withdrawn", "GROUP_CHANGED"),
        ("legal-aid-requested", "immigration_hearing"),
        ("care-requested", SON),
        ("care-requested", BABY),
    ]
    assert caused[0].data.location == "CJS"  # so that partners serving Juárez hear of it
    assert caused[2].data.location == "TIJ"
    assert notify.load["3/LA-CJS-01"] == b"0"


async def test_a_member_who_left_the_group_has_their_care_withdrawn() -> None:
    notify = Notify()
    await placed_family(notify)
    left = with_baby(members=[member(MOTHER), member(DAUGHTER)], group_size=2)
    await notify.issuer.on_screened(screened_envelope(left, REDECIDED_ID), PARTITION)
    before = len(notify.published)
    again = placed_envelope(placed(members=[MOTHER, DAUGHTER], beds=2), REPLACED_ID)
    await place(notify, again.model_copy(update={"causation_id": REDECIDED_ID}))

    caused = notify.events()[before:]
    assert summary(caused) == [
        ("request-updated", HEARING_ID, "amended", "GROUP_CHANGED"),
        ("request-updated", SON_CARE_ID, "withdrawn", "GROUP_CHANGED"),
    ]
    assert caused[0].data.members == [MOTHER, DAUGHTER]


async def test_a_family_declined_after_placement_has_every_request_withdrawn() -> None:
    notify = Notify()
    await placed_family(notify)
    declined = with_baby(decision="declined")
    await notify.issuer.on_screened(screened_envelope(declined, REDECIDED_ID), PARTITION)
    ending = withdrawal("NO_LONGER_ACCEPTED", PLACED_EVENT_ID, screened_event_id=REDECIDED_ID)
    before = len(notify.published)
    await notify.issuer.on_withdrawn(withdrawn_envelope(ending, WITHDRAWN_ID), PARTITION)

    caused = notify.events()[before:]
    assert summary(caused) == [
        ("request-updated", HEARING_ID, "withdrawn", "NO_LONGER_ACCEPTED"),
        ("request-updated", SON_CARE_ID, "withdrawn", "NO_LONGER_ACCEPTED"),
    ]
    assert all(e.data.members == [] and e.data.caused_by == WITHDRAWN_ID for e in caused)
    assert notify.load == {"3/LA-CJS-01": b"0"}


async def test_a_withdrawal_read_before_its_placement_leaves_nothing_open() -> None:
    # placed and placement-withdrawn are two topics: notify may read them in either order.
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(screened()), PARTITION)
    ending = withdrawal("NO_LONGER_ACCEPTED", PLACED_EVENT_ID)
    await notify.issuer.on_withdrawn(withdrawn_envelope(ending, WITHDRAWN_ID), PARTITION)
    await place(notify, placed_envelope(placed()))
    assert notify.published == []


async def test_a_re_placement_read_before_the_release_still_amends() -> None:
    notify = Notify()
    await placed_family(notify)
    await notify.issuer.on_screened(screened_envelope(with_baby(), REDECIDED_ID), PARTITION)
    again = placed_envelope(placed(members=[*FAMILY, BABY], beds=4), REPLACED_ID)
    await place(notify, again.model_copy(update={"causation_id": REDECIDED_ID}))
    before = len(notify.published)
    release = withdrawal("GROUP_CHANGED", PLACED_EVENT_ID, screened_event_id=REDECIDED_ID)
    await notify.issuer.on_withdrawn(withdrawn_envelope(release, WITHDRAWN_ID), PARTITION)

    assert [e.event_type for e in notify.events()] == [
        "legal-aid-requested",
        "care-requested",
        "request-updated",
        "care-requested",
    ]
    assert notify.published[before:] == []  # the release of the old placement: nothing more


async def test_a_re_placement_read_before_its_decision_waits_for_the_new_members_needs() -> None:
    notify = Notify()
    await placed_family(notify)
    again = placed_envelope(placed(members=[*FAMILY, BABY], beds=4), REPLACED_ID)
    await place(notify, again.model_copy(update={"causation_id": REDECIDED_ID}))
    assert len(notify.published) == 2  # parked: the baby's needs are not known yet

    await notify.issuer.on_screened(screened_envelope(with_baby(), REDECIDED_ID), PARTITION)

    assert summary(notify.events()[2:]) == [
        ("request-updated", HEARING_ID, "amended", "GROUP_CHANGED"),
        ("care-requested", BABY),
    ]


async def test_a_fear_referral_re_decided_still_for_fear_is_amended_not_doubled() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(referred_for_fear()), PARTITION)
    members = [member(c, needs=()) for c in (MOTHER, SON, DAUGHTER, BABY)]
    again = referred_for_fear(members=members, supersedes=SCREENED_EVENT_ID, revision=2)
    await notify.issuer.on_screened(screened_envelope(again, REDECIDED_ID), PARTITION)

    interview, amendment = notify.events()
    interview_id = request_event_id("legal-aid-requested", SCREENED_EVENT_ID)
    assert interview.event_id == interview_id
    assert summary([amendment]) == [("request-updated", interview_id, "amended", "GROUP_CHANGED")]
    assert amendment.data.members == [MOTHER, SON, DAUGHTER, BABY]
    assert (amendment.data.priority, amendment.data.location) == ("urgent", "CJS")


async def test_a_fear_referral_re_decided_with_the_same_members_changes_nothing() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(referred_for_fear()), PARTITION)
    again = referred_for_fear(supersedes=SCREENED_EVENT_ID, revision=2)
    await notify.issuer.on_screened(screened_envelope(again, REDECIDED_ID), PARTITION)
    assert [e.event_type for e in notify.events()] == ["legal-aid-requested"]


async def test_a_group_no_longer_referred_for_fear_has_its_interview_withdrawn() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(referred_for_fear()), PARTITION)
    accepted = with_baby()
    await notify.issuer.on_screened(screened_envelope(accepted, REDECIDED_ID), PARTITION)

    _, withdrawal_event = notify.events()
    interview_id = request_event_id("legal-aid-requested", SCREENED_EVENT_ID)
    assert summary([withdrawal_event]) == [
        ("request-updated", interview_id, "withdrawn", "NO_LONGER_REFERRED")
    ]
    assert notify.load == {"3/LA-CJS-01": b"0"}


async def test_a_placement_withdrawal_leaves_a_fear_interview_open() -> None:
    # Accepted and placed, then re-decided as referred for fear: placement withdraws the
    # placement, and the new interview, from the decision, must stay.
    notify = Notify()
    await placed_family(notify)
    fear = referred_for_fear(supersedes=SCREENED_EVENT_ID, revision=2)
    await notify.issuer.on_screened(screened_envelope(fear, REDECIDED_ID), PARTITION)
    ending = withdrawal("NO_LONGER_ACCEPTED", PLACED_EVENT_ID, screened_event_id=REDECIDED_ID)
    await notify.issuer.on_withdrawn(withdrawn_envelope(ending, WITHDRAWN_ID), PARTITION)

    updates = [e for e in notify.events() if e.event_type == "request-updated"]
    assert {e.data.request_event_id for e in updates} == {HEARING_ID, SON_CARE_ID}


async def test_re_delivered_inputs_re_send_the_same_events_and_nothing_new() -> None:
    notify = Notify()
    await placed_family(notify)
    await re_placed(notify)
    declined = with_baby(decision="declined", supersedes=REDECIDED_ID, revision=3)
    third = event_id_for("screened", "declined")
    await notify.issuer.on_screened(screened_envelope(declined, third), PARTITION)
    ending = withdrawal("NO_LONGER_ACCEPTED", REPLACED_ID, screened_event_id=third)
    ended_id = event_id_for("placement-withdrawn", "declined")
    await notify.issuer.on_withdrawn(withdrawn_envelope(ending, ended_id), PARTITION)
    ids = {e.event_id for e in notify.events()}
    groups, load = dict(notify.groups), dict(notify.load)

    await notify.issuer.on_screened(screened_envelope(with_baby(), REDECIDED_ID), PARTITION)
    again = placed_envelope(placed(members=[*FAMILY, BABY], beds=4), REPLACED_ID)
    await place(notify, again.model_copy(update={"causation_id": REDECIDED_ID}))
    await notify.issuer.on_withdrawn(withdrawn_envelope(ending, ended_id), PARTITION)
    await notify.issuer.on_screened(screened_envelope(declined, third), PARTITION)

    assert {e.event_id for e in notify.events()} == ids
    assert (notify.groups, notify.load) == (groups, load)
    withdrawn = [e for e in notify.events() if e.causation_id == ended_id]
    assert {e.data.request_event_id for e in withdrawn} == {
        HEARING_ID,
        SON_CARE_ID,
        request_event_id("care-requested", REPLACED_ID, BABY),
    }


async def test_a_late_members_legacy_decision_changes_no_request() -> None:
    # Before supersession a late member was decided alone (`decided_after`): it joins the
    # group's decision, as before, and amends nothing.
    notify = Notify()
    await placed_family(notify)
    late = screened(members=[member(BABY, needs=("covid_vaccination",))], decided_after="x")
    await notify.issuer.on_screened(screened_envelope(late, REDECIDED_ID), PARTITION)
    assert [e.event_type for e in notify.events()] == ["legal-aid-requested", "care-requested"]


async def test_a_late_members_legacy_fear_referral_is_requested_as_before() -> None:
    notify = Notify()
    await notify.issuer.on_screened(screened_envelope(referred_for_fear()), PARTITION)
    late = referred_for_fear(
        members=[member(BABY, needs=())],
        reasons=[{"case_id": BABY, "code": "FEAR_OF_RETURN"}],
        decided_after=SCREENED_EVENT_ID,
    )
    await notify.issuer.on_screened(screened_envelope(late, REDECIDED_ID), PARTITION)
    interviews = [e.data.members for e in notify.events()]
    assert interviews == [[MOTHER, SON, DAUGHTER], [BABY]]
