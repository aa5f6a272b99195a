"""Screening rules: one decision for a whole group of people returned to Mexico.

Pure code. The members present when the group is due, and a rule set, go in; a
`Screened` comes out. No clock, no I/O: auditors re-run `decide_group` on the replayed
`person-returned` events and must get an equal result, whatever order they come in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime

from schemas.decisions import Decision, Flag, Need, Reason, Screened, ScreenedMember
from schemas.person import Declared, PersonReturned
from services.screening.ruleset import RuleSet


def age_on(date_of_birth: date, on_date: date) -> int:
    """Age in completed years on `on_date`; a person reaches an age on their birthday.

    Someone born on 29 February turns a year older on 1 March in a common year (they
    have not yet had their birthday on 28 February). Raises `ValueError` when `on_date`
    is before the date of birth.
    """
    if on_date < date_of_birth:
        raise ValueError("the date of birth is after the date the age is wanted for")
    years = on_date.year - date_of_birth.year
    return years - 1 if on_date < _birthday_in(on_date.year, date_of_birth) else years


def _birthday_in(year: int, date_of_birth: date) -> date:
    if (date_of_birth.month, date_of_birth.day) == (2, 29):
        try:
            return date(year, 2, 29)
        except ValueError:  # a common year
            return date(year, 3, 1)
    return date_of_birth.replace(year=year)


def member_age(member: PersonReturned) -> int:
    """The member's age on the local date of their `returned_at` (its own UTC offset)."""
    return age_on(member.person.date_of_birth, member.local_return_date)


def member_flags(
    member: PersonReturned, group: Sequence[PersonReturned], rule_set: RuleSet
) -> list[Flag]:
    """Every vulnerability flag that holds for `member`, sorted.

    `group` is the group's members present (`member` among them): a minor is
    unaccompanied when no one in it has reached `adult_age`.
    """
    age = member_age(member)
    flags = _declared_flags(member.declared)
    if age < rule_set.adult_age and (
        member.declared.travelling_without_parent_or_guardian
        or all(member_age(other) < rule_set.adult_age for other in group)
    ):
        flags.append("UNACCOMPANIED_MINOR")
    if age >= rule_set.older_person_age:
        flags.append("OLDER_PERSON")
    if all(language in rule_set.indigenous_languages for language in member.person.languages):
        flags.append("MONOLINGUAL_INDIGENOUS")
    if member.person.nationality == rule_set.mexican_nationality:
        flags.append("MEXICAN_NATIONAL")
    return sorted(flags)


def _declared_flags(declared: Declared) -> list[Flag]:
    checks: tuple[tuple[bool, Flag], ...] = (
        (declared.pregnant, "PREGNANT"),
        (declared.physical_illness, "PHYSICAL_ILLNESS"),
        (declared.mental_illness, "MENTAL_ILLNESS"),
        (declared.disability, "DISABILITY"),
        (declared.lgbti, "LGBTI"),
    )
    return [flag for holds, flag in checks if holds]


def interpreter_language(member: PersonReturned, rule_set: RuleSet) -> str | None:
    """The preferred (first) language when an interpreter is needed for it, else None."""
    preferred = member.person.languages[0]
    return None if preferred in rule_set.interpreter_unless else preferred


def member_needs(member: PersonReturned, rule_set: RuleSet) -> list[Need]:
    """What a member of an accepted group needs, sorted: legal aid always."""
    needs: list[Need] = ["legal_aid"]
    if member.covid_vaccination.doses < rule_set.covid_doses_needed_below:
        needs.append("covid_vaccination")
    if interpreter_language(member, rule_set) is not None:
        needs.append("interpreter")
    return sorted(needs)


def group_decision(
    members: Sequence[PersonReturned], flags: Mapping[str, Sequence[Flag]], group_size: int
) -> tuple[Decision, list[Reason]]:
    """The group's decision and its reasons, by the contract's precedence.

    `members` are distinct by case id, `flags` maps each case id to its flags. Reasons
    are only those of the decision taken: for `not_eligible` the MEXICAN_NATIONAL flags
    alone; for `declined` every flag; for `referred` FEAR_OF_RETURN per member who
    declared it and GROUP_INCOMPLETE (case id null) when fewer members than
    `group_size` are present.
    """
    flagged = [(case_id, flag) for case_id, fs in flags.items() for flag in fs]
    mexican = [Reason(case_id=c, code=f) for c, f in flagged if f == "MEXICAN_NATIONAL"]
    if mexican:
        return "not_eligible", _in_order(mexican)
    if flagged:
        return "declined", _in_order([Reason(case_id=c, code=f) for c, f in flagged])
    referral = [
        Reason(case_id=member.case_id, code="FEAR_OF_RETURN")
        for member in members
        if member.declared.fear_of_return_to_mexico
    ]
    if len({member.case_id for member in members}) < group_size:
        referral.append(Reason(case_id=None, code="GROUP_INCOMPLETE"))
    if referral:
        return "referred", _in_order(referral)
    return "accepted", []


def _in_order(reasons: list[Reason]) -> list[Reason]:
    # By case id then code, the group-wide reasons (case id null) first.
    return sorted(reasons, key=lambda r: (r.case_id is not None, r.case_id or "", r.code))


def decide_group(members: Sequence[PersonReturned], rule_set: RuleSet) -> Screened:
    """Decide for a whole group, from the `person-returned` records of its members present.

    All records must share one `group_id` (else `ValueError`, as for no records at all).
    Repeated records of one case id count once: the one with the earliest `returned_at`
    (then smallest `submission_id`) is kept, so the result never depends on the order
    of `members`. The group's size is the largest `group_size` its members declare.
    """
    present = distinct_members(members)
    group_size = max(member.group_size for member in present)
    flags = {member.case_id: member_flags(member, present, rule_set) for member in present}
    decision, reasons = group_decision(present, flags, group_size)
    return Screened(
        group_id=present[0].group_id,
        decision=decision,
        rule_set=rule_set.name,
        members=[_screened(m, flags[m.case_id], decision, rule_set) for m in present],
        reasons=reasons,
        returned_at=min(present, key=_submission_order).returned_at,
        group_size=group_size,
        earliest_hearing_at=_earliest_hearing(present),
    )


def distinct_members(members: Sequence[PersonReturned]) -> list[PersonReturned]:
    """One record per case id, sorted by case id; checks there is one group."""
    if not members:
        raise ValueError("a group decision needs at least one member")
    group_ids = sorted({member.group_id for member in members})
    if len(group_ids) > 1:
        raise ValueError(f"members of one decision belong to groups {', '.join(group_ids)}")
    kept: dict[str, PersonReturned] = {}
    for member in sorted(members, key=_submission_order):
        kept.setdefault(member.case_id, member)
    return [kept[case_id] for case_id in sorted(kept)]


def _submission_order(member: PersonReturned) -> tuple[datetime, str, str, _RecordText]:
    # Equal instants may carry different offsets and a resent record may differ, so the
    # last keys make the choice total: the same records always give the same choice.
    return (member.returned_at, member.submission_id, member.source, _RecordText(member))


class _RecordText:
    """A record ordered by its JSON, written only when two records tie on everything else.

    Sorting compares the last key of a tuple only when the keys before it are equal:
    almost never, so almost no record is serialised for it.
    """

    __slots__ = ("_member", "_text")

    def __init__(self, member: PersonReturned) -> None:
        self._member = member
        self._text: str | None = None

    def text(self) -> str:
        if self._text is None:
            self._text = self._member.model_dump_json()
        return self._text

    def __lt__(self, other: _RecordText) -> bool:
        return self.text() < other.text()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RecordText) and self.text() == other.text()

    __hash__ = None  # type: ignore[assignment]


def _earliest_hearing(members: Sequence[PersonReturned]) -> datetime | None:
    hearings = [m.hearing.scheduled_at for m in members if m.hearing is not None]
    # The same instant written with two offsets: the ISO text breaks the tie.
    return min(hearings, key=lambda at: (at, at.isoformat()), default=None)


def _screened(
    member: PersonReturned, flags: list[Flag], decision: Decision, rule_set: RuleSet
) -> ScreenedMember:
    accepted = decision == "accepted"
    return ScreenedMember(
        case_id=member.case_id,
        flags=flags,
        needs=member_needs(member, rule_set) if accepted else [],
        interpreter_language=interpreter_language(member, rule_set) if accepted else None,
    )
