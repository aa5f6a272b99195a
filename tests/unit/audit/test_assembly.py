"""Pairing each screened event with the person-returned events it decided on."""

from __future__ import annotations

from services.audit.assembly import GroupAssembler, choose_members
from tests.unit.audit.audit_factories import Log
from tests.unit.screening.factories import returned

FAMILY = "G-2026-000123"


def family_of_two(log: Log) -> list:
    mother = log.person(returned("A212345678", group_id=FAMILY, group_size=2), 0)
    son = log.person(
        returned("A212345679", group_id=FAMILY, group_size=2, born="2015-06-01", role="child"), 0.2
    )
    return [mother, son]


def feed(assembler: GroupAssembler, log: Log) -> list:
    done = []
    for event in log.events:
        if event.topic == "person-returned":
            done += assembler.add_person(event)
        else:
            done += assembler.add_screened(event)
    return done + assembler.finish()


def test_a_decision_takes_the_members_it_names_and_their_digest_matches() -> None:
    log = Log()
    members = family_of_two(log)
    log.screen(members, 1)
    (assembled,) = feed(assembler := GroupAssembler(), log)
    assert [m.event_id for m in assembled.members] == [m.event_id for m in members]
    assert assembled.causation_matches
    assert assembled.missing == ()
    assert not assembled.redecided
    assert list(assembler.undecided()) == []


def test_a_resubmitted_case_is_taken_only_when_it_was_among_the_causes() -> None:
    log = Log()
    first = log.person(returned("A212345678", submission_id="cbp-1"), 0)
    log.screen([first], 1)
    again = log.person(returned("A212345678", submission_id="cbp-2"), 2)  # after the decision
    log.screen([again], 3, decided_after="earlier")
    assembled = feed(GroupAssembler(), log)
    assert [[m.event_id for m in a.members] for a in assembled] == [
        [first.event_id],
        [again.event_id],
    ]
    assert all(a.causation_matches for a in assembled)


def test_the_digest_picks_the_records_of_a_case_that_were_decided_on() -> None:
    log = Log()
    log.person(returned("A212345678", submission_id="cbp-1"), 0)
    second = log.person(returned("A212345678", submission_id="cbp-2"), 0.5)
    log.screen([second], 1)  # as if the decision had seen only the second record
    (assembled,) = feed(assembler := GroupAssembler(), log)
    assert [m.event_id for m in assembled.members] == [second.event_id]
    assert assembled.causation_matches
    assert assembled.not_current == ("A212345678",)  # the earliest arrival is current
    assert list(assembler.undecided()) == []


def test_a_correction_replaces_the_record_it_names_even_when_it_comes_first() -> None:
    log = Log()
    original = returned("A212345678", submission_id="cbp-1")
    fixed = log.person(
        returned("A212345678", submission_id="cbp-2", doses=3).model_copy(
            update={"corrects": "cbp-1"}
        ),
        0,
    )
    log.person(original, 0.5)
    log.screen([fixed], 1)
    (assembled,) = feed(GroupAssembler(), log)
    assert [m.event_id for m in assembled.members] == [fixed.event_id]
    assert assembled.causation_matches
    assert assembled.not_current == ()


def test_a_re_decision_takes_every_member_again_with_the_correction() -> None:
    log = Log()
    mother, son = family_of_two(log)
    first = log.screen([mother, son], 1)
    fixed = log.correct(mother, 5, doses=3)
    log.again(first, [fixed, son], 5.1)
    _, again = feed(GroupAssembler(), log)
    assert again.redecided
    assert {m.event_id for m in again.members} == {fixed.event_id, son.event_id}
    assert again.causation_matches
    assert again.missing == ()


def test_a_late_member_s_re_decision_takes_the_whole_group() -> None:
    log = Log()
    mother = log.person(returned("A212345678", group_id=FAMILY, group_size=2), 0)
    first = log.screen([mother], 11)
    son = log.person(returned("A212345679", group_id=FAMILY, group_size=2, role="child"), 12)
    log.again(first, [mother, son], 12.1)
    _, again = feed(GroupAssembler(), log)
    assert [m.event_id for m in again.members] == [mother.event_id, son.event_id]
    assert again.causation_matches


def test_a_decision_written_before_its_members_waits_for_them() -> None:
    log = Log()
    members = family_of_two(log)
    screened = log.screen(members, 1)
    log.events.insert(0, log.events.pop())  # the decision first
    assembler = GroupAssembler()
    assert assembler.add_screened(log.events[0]) == []
    assert assembler.add_person(log.events[1]) == []
    (assembled,) = assembler.add_person(log.events[2])
    assert assembled.screened.event_id == screened.event_id


def test_a_decision_whose_members_never_came_names_them_as_missing() -> None:
    log = Log()
    members = family_of_two(log)
    log.events.clear()
    log.screen(members, 1)
    (assembled,) = feed(GroupAssembler(), log)
    assert assembled.members == ()
    assert assembled.missing == ("A212345678", "A212345679")


def test_a_second_decision_of_a_decided_group_is_re_run_on_the_same_members() -> None:
    log = Log()
    members = family_of_two(log)
    log.screen(members, 1)
    log.screen(members, 2, decision="accepted")
    first, second = feed(GroupAssembler(), log)
    assert not first.redecided
    assert second.redecided
    assert {m.event_id for m in second.members} == {m.event_id for m in members}


def test_members_of_groups_decided_long_ago_are_forgotten() -> None:
    log = Log()
    members = family_of_two(log)
    log.screen(members, 1)
    other = log.person(returned("A300000001", group_id="G-OTHER"), 2)
    log.screen([other], 3)
    log.screen(members, 4, decision="accepted")
    assembled = feed(GroupAssembler(keep_decided=1), log)
    assert assembled[-1].missing == ("A212345678", "A212345679")


def test_choosing_without_a_digest_keeps_every_candidate() -> None:
    log = Log()
    members = family_of_two(log)
    assembler = GroupAssembler()
    for event in log.events:
        assembler.add_person(event)
    candidates = list(assembler.undecided())
    assert choose_members(candidates, None) == (candidates, False)
    assert [m.event_id for m in candidates] == [m.event_id for m in members]
