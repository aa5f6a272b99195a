"""Which `person-returned` events each `screened` event decided on.

A `screened` event lists its members' case ids, and its `causation_id` is the digest of
the member events it was decided on (`schemas.envelope.digest_of`). In log order the
members come first: they wait here, per group, until a `screened` event of their group
lists their case ids; that event takes them. Among several records of one case id (a
resubmission under another submission id), the ones whose digest equals the causation
are taken; `decide_group` de-duplicates them exactly as screening did.

A member who arrives after its group was decided gets its own `screened` event
(`decided_after`), which takes it in turn. A `screened` event whose members are not all
here yet waits for them; at the end it is taken with whatever is here.

Memory: pending members are kept until decided; the members of the most recently
decided groups (`keep_decided`, a few kilobytes a person) are kept a while longer, so
that a second decision for one of them can be re-run too. Older ones are forgotten.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from schemas.decisions import Screened
from schemas.envelope import digest_of
from schemas.person import PersonReturned
from services.audit.events import Logged

KEEP_DECIDED = 2_000
"""Decided groups whose members are kept, to re-run a second decision for one of them."""

MAX_SUBSETS = 256
"""How many combinations of repeated case ids are tried against the causation digest."""


@dataclass(frozen=True, slots=True)
class Member:
    """One `person-returned` event: where it was recorded, and the record."""

    event_id: str
    where: str
    occurred_at: datetime
    record: PersonReturned


@dataclass(frozen=True)
class Assembled:
    """A `screened` event and the member events it was decided on.

    `missing` lists case ids the event names but no member event here has (never seen,
    or decided so long ago that their records were forgotten). `causation_matches` tells
    whether the digest of `members` is the event's `causation_id`. `redecided` is set
    when some members had already been taken by an earlier `screened` event.
    """

    screened: Logged
    members: tuple[Member, ...]
    missing: tuple[str, ...]
    causation_matches: bool
    redecided: bool

    @property
    def decision(self) -> Screened:
        return cast(Screened, self.screened.data)


class GroupAssembler:
    """Feed it `person-returned` and `screened` events in log order; it pairs them."""

    def __init__(self, keep_decided: int = KEEP_DECIDED) -> None:
        self.keep_decided = keep_decided
        self._pending: dict[str, dict[str, Member]] = {}
        self._decided: OrderedDict[str, dict[str, Member]] = OrderedDict()
        self._waiting: dict[str, list[Logged]] = {}

    def add_person(self, event: Logged) -> list[Assembled]:
        """Keep a member until it is decided; returns decisions that were waiting for it."""
        record = cast(PersonReturned, event.data)
        members = self._pending.setdefault(record.group_id, {})
        members[event.event_id] = Member(event.event_id, event.where, event.occurred_at, record)
        waiting = self._waiting.pop(record.group_id, [])
        done: list[Assembled] = []
        for screened in waiting:
            assembled = self._try(screened, final=False)
            if assembled is None:
                self._waiting.setdefault(record.group_id, []).append(screened)
            else:
                done.append(assembled)
        return done

    def add_screened(self, event: Logged) -> list[Assembled]:
        """Pair a decision with its members, or keep it until they arrive."""
        assembled = self._try(event, final=False)
        if assembled is None:
            self._waiting.setdefault(cast(Screened, event.data).group_id, []).append(event)
            return []
        return [assembled]

    def finish(self) -> list[Assembled]:
        """At the end of the replay: pair the decisions still waiting with what is here."""
        waiting = [event for events in self._waiting.values() for event in events]
        self._waiting.clear()
        return [a for a in (self._try(e, final=True) for e in waiting) if a is not None]

    def undecided(self) -> Iterator[Member]:
        """Members no `screened` event took (call after `finish`)."""
        for members in self._pending.values():
            yield from members.values()

    def _try(self, event: Logged, final: bool) -> Assembled | None:
        decision = cast(Screened, event.data)
        wanted = {member.case_id for member in decision.members}
        pending = self._pending.get(decision.group_id, {})
        candidates = [m for m in pending.values() if m.record.case_id in wanted]
        redecided = False
        if {m.record.case_id for m in candidates} != wanted:
            earlier = self._decided_members(decision.group_id, wanted)
            combined = [*candidates, *earlier]
            if {m.record.case_id for m in combined} != wanted and not final:
                return None
            candidates, redecided = combined, bool(earlier)
        chosen, matches = choose_members(candidates, event.envelope.causation_id)
        self._take(decision.group_id, chosen)
        found = {m.record.case_id for m in chosen}
        missing = tuple(sorted(wanted - found))
        return Assembled(event, tuple(chosen), missing, matches, redecided)

    def _take(self, group_id: str, chosen: list[Member]) -> None:
        pending = self._pending.get(group_id, {})
        kept = self._decided.pop(group_id, {})
        for member in chosen:
            if pending.pop(member.event_id, None) is not None:
                kept[member.event_id] = member
        if not pending:
            self._pending.pop(group_id, None)
        if kept and self.keep_decided > 0:
            self._decided[group_id] = kept
            while len(self._decided) > self.keep_decided:
                self._decided.popitem(last=False)

    def _decided_members(self, group_id: str, case_ids: set[str]) -> list[Member]:
        kept = self._decided.get(group_id, {})
        return [member for member in kept.values() if member.record.case_id in case_ids]


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
