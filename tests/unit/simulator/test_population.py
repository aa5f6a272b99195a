"""Generated returns are deterministic, valid at intake, and hang together as groups."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta

from schemas.codec import decode_data
from schemas.person import PersonReturned
from services.intake.validation import Accepted, validate_submission
from services.reference import Reference
from services.simulator import DEFAULT_START, Population, Profile, generate
from tests.unit.simulator.conftest import Record, by_group


def test_the_same_seed_gives_the_same_returns() -> None:
    assert list(generate(7, 300)) == list(generate(7, 300))


def test_another_seed_gives_other_returns() -> None:
    first = [r["person"]["date_of_birth"] for r in generate(7, 300)]
    other = [r["person"]["date_of_birth"] for r in generate(8, 300)]
    assert first != other


def test_exactly_n_returns_are_generated_whatever_the_group_sizes() -> None:
    for n in (1, 2, 5, 99):
        assert len(list(generate(3, n))) == n


def test_every_record_passes_intake_validation(
    five_thousand: list[Record], reference: Reference
) -> None:
    now = DEFAULT_START + timedelta(days=1)
    problems = []
    for record in five_thousand:
        raw = json.dumps(record, ensure_ascii=False).encode()
        decode_data(raw, PersonReturned)
        outcome = validate_submission(raw, reference, now)
        if not isinstance(outcome, Accepted):
            problems.append((record["submission_id"], outcome.problems))
    assert problems == []


def test_records_generated_at_the_present_time_pass_validation_too(
    profile: Profile, reference: Reference
) -> None:
    start = DEFAULT_START.replace(year=2026, month=11, day=27)
    for record in generate(11, 500, profile=profile, start=start):
        raw = json.dumps(record).encode()
        assert isinstance(validate_submission(raw, reference, start), Accepted)


def test_ids_have_the_contract_form_and_submissions_are_unique_per_source(
    five_thousand: list[Record],
) -> None:
    assert all(re.fullmatch(r"A\d{9}", r["case_id"]) for r in five_thousand)
    assert all(r["source"] == f"cbp-{r['crossing'].lower()}" for r in five_thousand)
    keys = Counter((r["source"], r["submission_id"]) for r in five_thousand)
    assert keys.most_common(1)[0][1] == 1
    assert len({r["case_id"] for r in five_thousand}) == len(five_thousand)


def test_members_of_a_group_share_crossing_size_nationality_hearing_and_time(
    five_thousand: list[Record],
) -> None:
    for members in by_group(five_thousand).values():
        head = members[0]
        for field in ("crossing", "group_size", "hearing"):
            assert {json.dumps(m[field]) for m in members} == {json.dumps(head[field])}
        assert {m["person"]["nationality"] for m in members} == {head["person"]["nationality"]}
        times = sorted(
            PersonReturned.model_validate_json(json.dumps(m)).returned_at for m in members
        )
        assert times[-1] - times[0] <= timedelta(seconds=60)
        assert head["person"]["role_in_group"] == "head"


def test_groups_are_complete_but_for_the_profiles_small_incomplete_share(
    five_thousand: list[Record], profile: Profile
) -> None:
    families = [m for m in by_group(five_thousand).values() if m[0]["group_size"] > 1]
    incomplete = [m for m in families if len(m) != m[0]["group_size"]]
    assert all(len(m) == m[0]["group_size"] - 1 for m in incomplete)
    assert abs(len(incomplete) / len(families) - profile.groups.incomplete) < 0.02


def test_a_lone_person_may_use_the_case_id_as_group_id(five_thousand: list[Record]) -> None:
    alone = [m[0] for m in by_group(five_thousand).values() if m[0]["group_size"] == 1]
    same = sum(1 for r in alone if r["group_id"] == r["case_id"])
    assert 0.4 < same / len(alone) < 0.6


def test_a_paced_run_and_generate_draw_groups_from_independent_crossing_streams(
    profile: Profile,
) -> None:
    one = Population(5, profile, "abcdef")
    other = Population(5, profile, "abcdef")
    other.group("SAN", DEFAULT_START)  # another crossing's draws change nothing at El Paso
    assert one.group("ELP", DEFAULT_START) == other.group("ELP", DEFAULT_START)


def test_returned_at_carries_the_ports_utc_offset(five_thousand: list[Record]) -> None:
    offsets = {r["crossing"]: r["returned_at"][-6:] for r in five_thousand}
    assert offsets["ELP"] == "-07:00"  # Mountain Standard Time on 1 March
    assert offsets["SAN"] == "-08:00"
    assert offsets["BRO"] == "-06:00"


def test_hearings_are_at_the_crossings_court_on_a_weekday(
    five_thousand: list[Record], profile: Profile
) -> None:
    for record in five_thousand:
        if record["hearing"] is not None:
            assert record["hearing"]["court"] == profile.crossings[record["crossing"]].court
            hearing = PersonReturned.model_validate_json(json.dumps(record)).hearing
            assert hearing is not None
            assert hearing.scheduled_at.weekday() < 5
