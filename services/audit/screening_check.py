"""Re-running a recorded `screened` decision, and following each group's chain of them.

The members are the `person-returned` events the decision took (`assembly`), and the
rules are `services.screening.rules.decide_group` itself, with its own de-duplication:
the same inputs must give an equal decision (CONTRACT.md, "Screening rules").

`ChainTracker` follows each group's decisions in log order: every later decision
supersedes the one before (else the family is split: two live decisions), a member left
out of a decision really arrived after that decision's window (`window.due_at`), a
`GROUP_INCOMPLETE` comes only once the window ran out, and the live decision covers
every member that arrived, in its current record.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import cast

from schemas.decisions import GatherWindow, Screened, ScreenedMember
from schemas.person import PersonReturned
from schemas.sealed import SealedPersonReturned
from services.audit import findings
from services.audit.events import Logged
from services.audit.findings import Mismatch, Pending
from services.screening.rules import decide_group
from services.screening.ruleset import RuleSet, RuleSetError, load_rule_set

Difference = tuple[str, str]
"""(category, detail): one way a recorded decision differs from the re-run."""


class RuleSets:
    """Rule sets by the name a `screened` event records, loaded once each.

    `override` is used for every decision instead (a what-if run).
    """

    def __init__(self, directory: Path | None = None, override: RuleSet | None = None) -> None:
        self.directory = directory
        self.override = override
        self._loaded: dict[str, RuleSet | None] = {}

    def get(self, name: str) -> RuleSet | None:
        """The rule set `name`, or None when no such rule set is shipped."""
        if self.override is not None:
            return self.override
        if name not in self._loaded:
            target: str | Path = name if self.directory is None else self.directory / f"{name}.toml"
            try:
                self._loaded[name] = load_rule_set(target)
            except RuleSetError:
                self._loaded[name] = None
        return self._loaded[name]


def erased_cases(members: Sequence[PersonReturned | SealedPersonReturned]) -> list[str]:
    """Case ids among `members` whose personal data was erased (their records stay sealed).

    Such a decision cannot be re-run: its recorded flags and reasons stand, and audits
    report it as erased, not as a mismatch (docs/adr/0021-erasable-personal-data.md).
    """
    return sorted({m.case_id for m in members if not isinstance(m, PersonReturned)})


def readable(members: Sequence[PersonReturned | SealedPersonReturned]) -> list[PersonReturned]:
    """The members whose personal data can be read."""
    return [m for m in members if isinstance(m, PersonReturned)]


def recheck(
    recorded: Screened, members: Sequence[PersonReturned], rule_set: RuleSet
) -> list[Difference]:
    """How `recorded` differs from `decide_group(members, rule_set)` (empty: it does not)."""
    derived = decide_group(members, rule_set)
    if recorded.decided_after is not None:
        derived = derived.model_copy(update={"decided_after": recorded.decided_after})
    return compare(recorded, derived, rule_set.name)


def compare(recorded: Screened, derived: Screened, rules: str) -> list[Difference]:
    """Every difference between a recorded decision and a re-derived one."""
    found: list[Difference] = []
    if recorded.decision != derived.decision:
        found.append(
            (
                findings.DECISION_DIFFERS,
                f"recorded {recorded.decision}, rule set {rules} gives {derived.decision}",
            )
        )
    found += _member_differences(recorded.members, derived.members)
    if recorded.reasons != derived.reasons:
        found.append(
            (
                findings.REASONS_DIFFER,
                f"recorded {_reasons(recorded)}, rule set {rules} gives {_reasons(derived)}",
            )
        )
    for name in ("returned_at", "group_size", "earliest_hearing_at"):
        mine, theirs = getattr(recorded, name), getattr(derived, name)
        if mine is not None and mine != theirs:
            found.append(
                (findings.DERIVED_FIELDS_DIFFER, f"{name}: recorded {mine}, re-run {theirs}")
            )
    return found


def _member_differences(
    recorded: Sequence[ScreenedMember], derived: Sequence[ScreenedMember]
) -> list[Difference]:
    found: list[Difference] = []
    mine = {member.case_id: member for member in recorded}
    theirs = {member.case_id: member for member in derived}
    if sorted(mine) != sorted(theirs):
        found.append((findings.MEMBERS_DIFFER, f"recorded {sorted(mine)}, re-run {sorted(theirs)}"))
    for case_id in sorted(set(mine) & set(theirs)):
        a, b = mine[case_id], theirs[case_id]
        if a.flags != b.flags:
            found.append(
                (
                    findings.MEMBER_FLAGS_DIFFER,
                    f"{case_id}: recorded {a.flags}, rules give {b.flags}",
                )
            )
        if (a.needs, a.interpreter_language) != (b.needs, b.interpreter_language):
            found.append(
                (
                    findings.MEMBER_NEEDS_DIFFER,
                    f"{case_id}: recorded {a.needs} (interpreter {a.interpreter_language}), "
                    f"rules give {b.needs} (interpreter {b.interpreter_language})",
                )
            )
    return found


def _reasons(decision: Screened) -> str:
    return "[" + ", ".join(f"{r.case_id or 'group'}:{r.code}" for r in decision.reasons) + "]"


Arrival = tuple[datetime, str]
"""A member's arrival time (its `occurred_at`) and where its record is."""


@dataclass(frozen=True, slots=True)
class _Decided:
    """What is kept of one decision of a group's chain."""

    event_id: str
    case_ids: frozenset[str]
    window: GatherWindow | None
    complete: bool  # as many members as its group size


@dataclass(slots=True)
class _Chain:
    revisions: dict[str, int | None] = field(default_factory=dict)  # every decision's
    live: dict[str, _Decided] = field(default_factory=dict)  # one; more when split
    last: str | None = None
    uncovered: dict[str, Arrival] = field(default_factory=dict)  # in no live decision
    uncorrected: dict[str, Arrival] = field(default_factory=dict)  # after the live one


class ChainTracker:
    """Each group's chain of decisions, fed in log order; kept per group: a few ids."""

    def __init__(self) -> None:
        self._chains: dict[str, _Chain] = {}

    def live_decision(self, group_id: str) -> str | None:
        """The event id of the group's last decision, None if it has none."""
        chain = self._chains.get(group_id)
        return None if chain is None else chain.last

    def on_person(self, event: Logged) -> None:
        """A member arrived: a live decision must come to cover it (or its correction)."""
        record = cast(PersonReturned | SealedPersonReturned, event.data)
        chain = self._chains.setdefault(record.group_id, _Chain())
        arrival = (event.occurred_at, event.where)
        if not any(record.case_id in d.case_ids for d in chain.live.values()):
            chain.uncovered.setdefault(record.case_id, arrival)
        elif record.corrects is not None:
            chain.uncorrected.setdefault(record.case_id, arrival)

    def on_screened(self, event: Logged) -> list[Difference]:
        """How a decision breaks its group's chain or its window (empty: it does not)."""
        data = cast(Screened, event.data)
        chain = self._chains.setdefault(data.group_id, _Chain())
        case_ids = frozenset(m.case_id for m in data.members)
        complete = len(case_ids) >= (data.group_size or 0)
        this = _Decided(event.event_id, case_ids, data.window, complete)
        superseded = chain.live.pop(data.supersedes, None) if data.supersedes else None
        found = _link(chain, data, superseded) + _window(data, superseded)
        if superseded is not None:
            found += _counted_late(chain, this, superseded)
        chain.revisions[this.event_id] = data.revision
        chain.live[this.event_id] = this
        chain.last = this.event_id
        for case_id in case_ids:
            chain.uncovered.pop(case_id, None)
            chain.uncorrected.pop(case_id, None)
        return found

    def findings(self, as_of: datetime, grace: timedelta) -> Iterator[Mismatch | Pending]:
        """Members the live decision lacks, or whose correction it did not take.

        A mismatch once `grace` has passed since the member arrived, else pending. Split
        families were reported as they came, and undecided groups are `verify`'s.
        """
        for group_id, chain in sorted(self._chains.items()):
            if chain.last is None or len(chain.live) > 1:
                continue
            for category, (at, where), detail in _open_ends(chain, chain.last[:8]):
                if at + grace <= as_of:
                    yield Mismatch(category, detail, group_id, where)
                else:
                    yield Pending(category, group_id, detail)


def _open_ends(chain: _Chain, live: str) -> Iterator[tuple[str, Arrival, str]]:
    for case_id, arrival in sorted(chain.uncovered.items()):
        detail = f"{case_id} arrived at {arrival[0].isoformat()}; live decision {live} lacks it"
        yield findings.LIVE_DECISION_MISSES_MEMBER, arrival, detail
    for case_id, arrival in sorted(chain.uncorrected.items()):
        detail = (
            f"{case_id}'s correction arrived at {arrival[0].isoformat()}, after live decision "
            f"{live}, and the group was not decided again"
        )
        yield findings.LIVE_DECISION_NOT_CURRENT, arrival, detail


def _link(chain: _Chain, data: Screened, superseded: _Decided | None) -> list[Difference]:
    """A decision must supersede its group's live decision, the first one none."""
    live = ", ".join(event_id[:8] for event_id in chain.live) or "none"
    if data.supersedes is None:
        if not chain.revisions:
            return _revision(data, 1)
        how = "a late member decided alone" if data.decided_after else "a decision"
        return [(findings.SPLIT_FAMILY, f"{how} superseding nothing, beside live {live}")]
    if data.supersedes not in chain.revisions:
        detail = f"supersedes {data.supersedes[:8]}, which is no earlier decision of the group"
        return [(findings.SPLIT_FAMILY, detail)]
    if superseded is None:
        detail = f"supersedes {data.supersedes[:8]}, superseded already: live {live} stays"
        return [(findings.SPLIT_FAMILY, detail)]
    previous = chain.revisions[data.supersedes]
    return _revision(data, None if previous is None else previous + 1)


def _revision(data: Screened, expected: int | None) -> list[Difference]:
    if data.revision is None or expected is None or data.revision == expected:
        return []
    return [(findings.REVISION_OUT_OF_ORDER, f"revision {data.revision}, expected {expected}")]


def _window(data: Screened, superseded: _Decided | None) -> list[Difference]:
    """A re-decision keeps the first window; GROUP_INCOMPLETE only once it ran out."""
    found: list[Difference] = []
    window = data.window
    if superseded is not None and superseded.window is not None and window != superseded.window:
        detail = f"{_text(window)}; the first decision's: {_text(superseded.window)}"
        found.append((findings.WINDOW_DIFFERS, detail))
    if not any(reason.code == "GROUP_INCOMPLETE" for reason in data.reasons):
        return found
    if window is None:
        if data.revision is not None:  # legacy decisions have neither
            found.append((findings.INCOMPLETE_BEFORE_DUE, "GROUP_INCOMPLETE with no window"))
    elif window.closed_by != "window" or window.closed_at < window.due_at:
        found.append((findings.INCOMPLETE_BEFORE_DUE, f"GROUP_INCOMPLETE, {_text(window)}"))
    return found


def _counted_late(chain: _Chain, this: _Decided, superseded: _Decided) -> list[Difference]:
    """Members new in `this` must have arrived after `superseded`'s window was due.

    A group that was complete owed nobody a wait: one who came after it closed is late.
    """
    window = superseded.window
    if window is None:
        return []
    cutoff = window.due_at
    if window.closed_by == "complete" and superseded.complete:
        cutoff = min(cutoff, window.closed_at)
    found: list[Difference] = []
    for case_id in sorted(this.case_ids - superseded.case_ids):
        arrival = chain.uncovered.get(case_id)
        if arrival is not None and arrival[0] < cutoff:
            detail = (
                f"{case_id} arrived at {arrival[0].isoformat()}, yet was left out of "
                f"{superseded.event_id[:8]}, {_text(window)}"
            )
            found.append((findings.COUNTED_LATE, detail))
    return found


def _text(window: GatherWindow | None) -> str:
    if window is None:
        return "no window"
    return (
        f"window opened {window.opened_at.isoformat()}, due {window.due_at.isoformat()}, "
        f"closed by {window.closed_by} at {window.closed_at.isoformat()}"
    )
