"""`returns audit what-if`: another screening rule set over the recorded history.

Each `screened` event's members (the `person-returned` events it decided on, grouped
as it grouped them: `assembly`) are decided again under the other rule set, and the
decision compared with the recorded one. Nothing is written anywhere.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from schemas.decisions import Screened
from services.audit.assembly import KEEP_DECIDED, Assembled, GroupAssembler
from services.audit.events import Logged
from services.audit.screening_check import erased_cases, readable
from services.reference import Reference
from services.screening.rules import decide_group
from services.screening.ruleset import RuleSet

WHATIF_TOPICS = ("person-returned", "screened")
"""The topics `what-if` reads."""


@dataclass(frozen=True)
class ChangedDecision:
    """A group whose decision the other rule set changes, and why."""

    group_id: str
    crossing: str
    location: str
    members: tuple[str, ...]
    recorded: str
    alternative: str
    why: tuple[str, ...]
    where: str


@dataclass
class WhatIfResult:
    """Decisions re-run per location, those that change, and the transitions."""

    rule_set: str
    decided: Counter[str] = field(default_factory=Counter)
    changed: list[ChangedDecision] = field(default_factory=list)
    transitions: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    reasons_only: int = 0
    not_rerun: int = 0


class WhatIf:
    """Feed it `person-returned` and `screened` events in log order."""

    def __init__(
        self, rule_set: RuleSet, reference: Reference, keep_decided: int = KEEP_DECIDED
    ) -> None:
        self.rule_set = rule_set
        self.reference = reference
        self.assembler = GroupAssembler(keep_decided)
        self.result = WhatIfResult(rule_set.name)

    def feed(self, event: Logged) -> None:
        if event.topic == "person-returned":
            self._rerun(self.assembler.add_person(event))
        elif event.topic == "screened":
            self._rerun(self.assembler.add_screened(event))

    def finish(self) -> WhatIfResult:
        """The result, once every event was fed."""
        self._rerun(self.assembler.finish())
        self.result.changed.sort(key=lambda c: (c.location, c.group_id))
        return self.result

    def _rerun(self, assembled: list[Assembled]) -> None:
        for item in assembled:
            records = [m.record for m in item.members]
            if item.missing or not item.members or erased_cases(records):
                self.result.not_rerun += 1  # erased personal data cannot be re-run either
                continue
            recorded = item.decision
            alternative = decide_group(readable(records), self.rule_set)
            crossing = item.screened.envelope.crossing or ""
            location = self._location(crossing)
            self.result.decided[location] += 1
            if alternative.decision == recorded.decision:
                if (alternative.reasons, alternative.members) != (
                    recorded.reasons,
                    recorded.members,
                ):
                    self.result.reasons_only += 1
                continue
            self.result.transitions[(location, recorded.decision, alternative.decision)] += 1
            self.result.changed.append(
                ChangedDecision(
                    group_id=recorded.group_id,
                    crossing=crossing,
                    location=location,
                    members=tuple(m.case_id for m in recorded.members),
                    recorded=recorded.decision,
                    alternative=alternative.decision,
                    why=why_changed(recorded, alternative),
                    where=item.screened.where,
                )
            )

    def _location(self, crossing: str) -> str:
        if crossing in self.reference.crossing_codes:
            return self.reference.location_for_crossing(crossing).code
        return crossing or "?"


def why_changed(recorded: Screened, alternative: Screened) -> tuple[str, ...]:
    """The flags and reasons that differ, per member: `+` new under the other rules, `-` gone."""
    before: set[tuple[str, str]] = {(m.case_id, f) for m in recorded.members for f in m.flags}
    after: set[tuple[str, str]] = {(m.case_id, f) for m in alternative.members for f in m.flags}
    before |= {(r.case_id or "group", r.code) for r in recorded.reasons}
    after |= {(r.case_id or "group", r.code) for r in alternative.reasons}
    gone = [f"-{case}:{code}" for case, code in sorted(before - after)]
    new = [f"+{case}:{code}" for case, code in sorted(after - before)]
    return tuple(gone + new)


def whatif_json(result: WhatIfResult) -> dict[str, Any]:
    """The result as a JSON document."""
    return {
        "rule_set": result.rule_set,
        "groups_rerun": dict(sorted(result.decided.items())),
        "transitions": [
            {"location": location, "recorded": before, "would_be": after, "groups": count}
            for (location, before, after), count in sorted(result.transitions.items())
        ],
        "changed": [asdict(item) for item in result.changed],
        "reasons_only": result.reasons_only,
        "not_rerun": result.not_rerun,
    }
