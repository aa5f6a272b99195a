"""Re-running a recorded `screened` decision with the rule set it names.

The members are the `person-returned` events the decision took (`assembly`), and the
rules are `services.screening.rules.decide_group` itself, with its own de-duplication:
the same inputs must give an equal decision (CONTRACT.md, "Screening rules").
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from schemas.decisions import Screened, ScreenedMember
from schemas.person import PersonReturned
from services.audit import findings
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
