"""Which `person-returned` events each `screened` event decided on.

A `screened` event lists its members' case ids, and its `causation_id` is the digest of
the member events it was decided on (`schemas.envelope.digest_of`): each case's
*current* record. A record whose `corrects` names an earlier submission of its source
replaces that submission's record (`person_returned_event_id(source, corrects)`), whichever
came first; among several records of one case that nothing replaces, the earliest
arrival (`occurred_at`) is current.

In log order the members come first. A group's records are kept, per group, and each
`screened` event of the group takes its members from them: a re-decision (`supersedes`)
takes every member of the group again, not only the new ones. When the digest is not
that of the current records, the records of those case ids whose digest it is are taken
instead (what screening really decided on: an older record, or, in logs from before
supersession, several records of one case), and `not_current` names those cases. The
legacy late member decided alone (`decided_after`) takes its own record in the same way.
A `screened` event whose members are not all here yet waits for them; at the end it is
taken with whatever is here.

Memory: the records of groups not decided yet are kept; those of the most recently
decided groups (`keep_decided`, a few kilobytes a person) a while longer, so that a
re-decision can be re-run too. Older ones are forgotten.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from schemas.decisions import Screened
from schemas.envelope import digest_of
from schemas.person import PersonReturned, person_returned_event_id
from schemas.sealed import SealedPersonReturned
from services.audit.events import Logged
from services.screening.grouping import counting_records

KEEP_DECIDED = 2_000
"""Decided groups whose members are kept, to re-run a re-decision of one of them."""

MAX_SUBSETS = 256
"""How many combinations of repeated case ids are tried against the causation digest."""


@dataclass(frozen=True, slots=True)
class Member:
    """One `person-returned` event: where it was recorded, and the record.

    The record is opened (`PersonReturned`) unless its personal data was erased: then it
    stays sealed (`SealedPersonReturned`), with only its readable fields.
    """

    event_id: str
    where: str
    occurred_at: datetime
    record: PersonReturned | SealedPersonReturned


@dataclass(frozen=True)
class Assembled:
    """A `screened` event and the member events it was decided on.

    `missing` lists case ids the event names but no member event here has (never seen,
    or decided so long ago that their records were forgotten). `causation_matches` tells
    whether the digest of `members` is the event's `causation_id`. `redecided` is set
    when the group had an earlier `screened` event. `not_current` names the cases whose
    record taken is not their current one (the digest chose it).
    """

    screened: Logged
    members: tuple[Member, ...]
    missing: tuple[str, ...]
    causation_matches: bool
    redecided: bool
    not_current: tuple[str, ...] = ()

    @property
    def decision(self) -> Screened:
        return cast(Screened, self.screened.data)


def current_records(records: Iterable[Member]) -> list[Member]:
    """Each case's current record, by case id: screening's own rule."""
    return counting_records(records, _facts)


def _facts(member: Member) -> tuple[str, str, datetime, str | None]:
    corrects = member.record.corrects
    replaced = person_returned_event_id(member.record.source, corrects) if corrects else None
    return member.event_id, member.record.case_id, member.occurred_at, replaced


class GroupAssembler:
    """Feed it `person-returned` and `screened` events in log order; it pairs them."""

    def __init__(self, keep_decided: int = KEEP_DECIDED) -> None:
        self.keep_decided = keep_decided
        self._open: dict[str, dict[str, Member]] = {}
        self._decided: OrderedDict[str, dict[str, Member]] = OrderedDict()
        self._was_decided: set[str] = set()
        self._waiting: dict[str, list[Logged]] = {}

    def add_person(self, event: Logged) -> list[Assembled]:
        """Keep a member's record; returns decisions that were waiting for it."""
        record = cast(PersonReturned | SealedPersonReturned, event.data)
        member = Member(event.event_id, event.where, event.occurred_at, record)
        self._records_to_add(record.group_id)[event.event_id] = member
        waiting = self._waiting.pop(record.group_id, [])
        done: list[Assembled] = []
        for index, screened in enumerate(waiting):
            assembled = self._try(screened, final=False)
            if assembled is None:
                self._waiting[record.group_id] = waiting[index:]
                break
            done.append(assembled)
        return done

    def add_screened(self, event: Logged) -> list[Assembled]:
        """Pair a decision with its members, or keep it until they arrive."""
        group_id = cast(Screened, event.data).group_id
        if self._waiting.get(group_id):
            self._waiting[group_id].append(event)  # decisions of a group pair in log order
            return []
        assembled = self._try(event, final=False)
        if assembled is None:
            self._waiting.setdefault(group_id, []).append(event)
            return []
        return [assembled]

    def finish(self) -> list[Assembled]:
        """At the end of the replay: pair the decisions still waiting with what is here."""
        waiting = [event for events in self._waiting.values() for event in events]
        self._waiting.clear()
        return [a for a in (self._try(e, final=True) for e in waiting) if a is not None]

    def undecided(self) -> Iterator[Member]:
        """The current records of groups no `screened` event decided (after `finish`)."""
        for records in self._open.values():
            yield from current_records(records.values())

    def _records(self, group_id: str) -> dict[str, Member]:
        found = self._decided.get(group_id)
        return found if found is not None else self._open.get(group_id, {})

    def _records_to_add(self, group_id: str) -> dict[str, Member]:
        if group_id in self._decided:
            return self._decided[group_id]
        if group_id in self._was_decided:  # its records were forgotten: keep what comes now
            self._keep({}, group_id)
            return self._decided.get(group_id, {})
        return self._open.setdefault(group_id, {})

    def _try(self, event: Logged, final: bool) -> Assembled | None:
        decision = cast(Screened, event.data)
        wanted = {member.case_id for member in decision.members}
        records = self._records(decision.group_id)
        current = [m for m in current_records(records.values()) if m.record.case_id in wanted]
        found = {m.record.case_id for m in current}
        if found != wanted and not final:
            return None
        cause = event.envelope.causation_id
        chosen, matches = current, digest_of([m.event_id for m in current]) == cause
        if not matches:
            named = [m for m in records.values() if m.record.case_id in wanted]
            picked, matches = choose_members(named, cause)
            chosen = picked if matches else current
        current_ids = {m.event_id for m in current}
        stale = sorted({m.record.case_id for m in chosen if m.event_id not in current_ids})
        redecided = decision.group_id in self._was_decided
        self._keep(records, decision.group_id)
        missing = tuple(sorted(wanted - found))
        return Assembled(event, tuple(chosen), missing, matches, redecided, tuple(stale))

    def _keep(self, records: dict[str, Member], group_id: str) -> None:
        self._open.pop(group_id, None)
        self._was_decided.add(group_id)
        self._decided.pop(group_id, None)
        if self.keep_decided > 0:
            self._decided[group_id] = records
            while len(self._decided) > self.keep_decided:
                self._decided.popitem(last=False)


def choose_members(candidates: list[Member], causation_id: str | None) -> tuple[list[Member], bool]:
    """The candidates whose digest is `causation_id`, keeping every case id; else all of them.

    Returns the members chosen and whether their digest matched. Only repeated records of
    one case id are left out, and at most `MAX_SUBSETS` combinations are tried.
    """
    if causation_id is not None and digest_of([m.event_id for m in candidates]) == causation_id:
        return candidates, True
    by_case: dict[str, list[Member]] = {}
    for member in candidates:
        by_case.setdefault(member.record.case_id, []).append(member)
    if causation_id is None or all(len(records) == 1 for records in by_case.values()):
        return candidates, False
    choices = [_non_empty_subsets(records) for records in by_case.values()]
    for combination in itertools.islice(itertools.product(*choices), MAX_SUBSETS):
        chosen = [member for subset in combination for member in subset]
        if digest_of([m.event_id for m in chosen]) == causation_id:
            return chosen, True
    return candidates, False


def _non_empty_subsets(records: list[Member]) -> list[tuple[Member, ...]]:
    sizes = range(1, len(records) + 1)
    return [subset for size in sizes for subset in itertools.combinations(records, size)]
