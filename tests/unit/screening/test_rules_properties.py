"""Properties auditors rely on: order does not matter, flags only ever tighten, replays agree."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.person import PersonReturned
from services.screening.rules import decide_group, member_flags
from services.screening.ruleset import load_rule_set
from tests.unit.screening.factories import DECLARATIONS, returned

RULES = load_rule_set("2021-12")
GROUP = "G-2026-000777"
CASE_IDS = [f"A2026000{n:02d}" for n in range(8)]
# Declarations that flag anyone who makes them. Travelling without a parent or guardian
# flags only a minor, so its mark below comes with a child's date of birth.
VULNERABILITIES = [
    d
    for d in DECLARATIONS
    if d not in ("fear_of_return_to_mexico", "travelling_without_parent_or_guardian")
]
# Border offsets (Pacific, Mountain, Central) plus UTC: one instant, several local dates.
OFFSETS = [timezone(timedelta(hours=h)) for h in (-8, -7, -6, 0)]
# Near-midnight instants on 27 and 28 November 2026, so local and UTC dates differ.
INSTANTS = [
    datetime(2026, 11, 27, 6, 30, tzinfo=UTC),
    datetime(2026, 11, 28, 5, 30, tzinfo=UTC),
    datetime(2026, 11, 28, 6, 30, tzinfo=UTC),
    datetime(2026, 11, 28, 15, 58, tzinfo=UTC),
]
# Birthdays that make a person 17/18 or 59/60 around those instants, and 29 February.
EDGE_BIRTHDAYS = [date(2008, 11, 27), date(2008, 11, 28), date(1966, 11, 28), date(2008, 2, 29)]

births = st.one_of(st.sampled_from(EDGE_BIRTHDAYS), st.dates(date(1935, 1, 1), date(2026, 11, 26)))
returns = st.builds(
    lambda at, tz: at.astimezone(tz).isoformat(),
    st.sampled_from(INSTANTS),
    st.sampled_from(OFFSETS),
)
declarations = st.one_of(
    st.just(frozenset[str]()), st.frozensets(st.sampled_from(DECLARATIONS), max_size=2)
)


@st.composite
def member_fields(draw: st.DrawFn) -> dict[str, Any]:
    """The factory's arguments for any valid member, vulnerable or not."""
    languages = st.lists(
        st.sampled_from(["spa", "quc", "mam", "eng"]), min_size=1, max_size=3, unique=True
    )
    hearings = st.sampled_from(["2027-01-05T10:00:00-06:00", "2027-01-05T09:00:00-07:00"])
    return {
        "group_id": GROUP,
        "group_size": draw(st.integers(1, 5)),
        "born": draw(births).isoformat(),
        "nationality": draw(st.sampled_from(["HND", "GTM", "SLV", "VEN", "MEX"])),
        "languages": draw(languages),
        "returned_at": draw(returns),
        "doses": draw(st.integers(0, 3)),
        "hearing_at": draw(st.none() | hearings),
        "submission_id": draw(
            st.sampled_from(["cbp-elp-000981", "cbp-elp-000982", "inm-cjs-0042"])
        ),
        **dict.fromkeys(draw(declarations), True),
    }


def members(case_id: str) -> st.SearchStrategy[PersonReturned]:
    return member_fields().map(lambda fields: returned(case_id, **fields))


@st.composite
def groups(draw: st.DrawFn) -> list[PersonReturned]:
    """The records of one group, some case ids possibly submitted twice."""
    case_ids = draw(st.lists(st.sampled_from(CASE_IDS[:5]), min_size=1, max_size=6))
    return [draw(members(case_id)) for case_id in case_ids]


# Each makes a member flagged, or fearful of return, whatever the rest of the group.
MARKS: list[dict[str, Any]] = [
    *({name: True} for name in VULNERABILITIES),
    {"fear_of_return_to_mexico": True},
    {"nationality": "MEX"},
    {"languages": ["mam"]},
    {"born": "1950-06-01"},
    {"born": "2012-03-15", "travelling_without_parent_or_guardian": True},
]


def marked_newcomers(case_id: str) -> st.SearchStrategy[PersonReturned]:
    return st.builds(
        lambda fields, mark: returned(case_id, **{**fields, **mark}),
        member_fields(),
        st.sampled_from(MARKS),
    )


@settings(deadline=None)
@given(group=groups(), data=st.data())
def test_the_decision_does_not_depend_on_the_order_of_members(
    group: list[PersonReturned], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(group))

    assert decide_group(shuffled, RULES) == decide_group(group, RULES)


@settings(deadline=None)
@given(group=groups(), newcomer=marked_newcomers(CASE_IDS[7]))
def test_a_flagged_or_fearful_member_never_makes_a_group_accepted(
    group: list[PersonReturned], newcomer: PersonReturned
) -> None:
    before = decide_group(group, RULES).decision
    after = decide_group([*group, newcomer], RULES).decision

    assert after != "accepted"
    if member_flags(newcomer, [*group, newcomer], RULES):
        assert after in ("declined", "not_eligible")
    if before == "not_eligible":
        assert after == "not_eligible"


@settings(deadline=None)
@given(group=groups(), data=st.data())
def test_a_later_resent_record_changes_nothing(
    group: list[PersonReturned], data: st.DataObject
) -> None:
    original = data.draw(st.sampled_from(group))
    resent = data.draw(members(original.case_id))
    later = max(m.returned_at for m in group) + timedelta(minutes=1)
    resent = resent.model_copy(update={"returned_at": later})

    assert decide_group([*group, resent], RULES) == decide_group(group, RULES)


@settings(deadline=None)
@given(group=groups())
def test_a_replay_of_the_same_records_gives_an_equal_decision(group: list[PersonReturned]) -> None:
    replayed = [PersonReturned.model_validate_json(m.model_dump_json()) for m in group]

    first = decide_group(group, RULES)

    assert decide_group(group, RULES) == first
    assert decide_group(replayed, RULES) == first
    assert first.model_dump_json() == decide_group(replayed, RULES).model_dump_json()
