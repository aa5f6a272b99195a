"""The two halves of `verify`, which share no state: screening, and what follows it.

`ScreeningAudit` reads `person-returned` and `screened`: it re-runs each decision on its
members and follows each group's chain of decisions. `FollowUpAudit` reads every other
topic of `verify`, and `screened` too: placements, completeness and reassignments.
Neither looks at what the other keeps, so they can run in two processes, each on its
own replay (`services.audit.parallel`), and give what one process gives.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.audit import findings
from services.audit.assembly import KEEP_DECIDED, Assembled, GroupAssembler
from services.audit.completeness import CompletenessTracker
from services.audit.events import Logged
from services.audit.findings import Mismatch, Pending
from services.audit.placement_check import PlacementAuditor
from services.audit.reassignment_check import ReassignmentTracker
from services.audit.screening_check import (
    ChainTracker,
    RuleSets,
    erased_cases,
    readable,
    recheck,
)
from services.reference import Reference

SCREENING_TOPICS = ("person-returned", "screened")
"""What the screening audit reads; the follow-up audit reads every topic but the first."""


@dataclass
class ScreeningFound:
    """What the screening audit found, in the places the report lists them."""

    mismatches: list[Mismatch]
    undecided: list[Mismatch | Pending]
    chains: list[Mismatch | Pending]
    live_not_current: list[Mismatch | Pending]
    rechecked: int
    erased: list[str]


@dataclass
class FollowUpFound:
    """What placement, completeness and reassignments found, in the report's places."""

    completeness: list[Mismatch]
    placement: list[Mismatch]
    reassignments: list[Mismatch]
    completeness_later: list[Mismatch | Pending]
    placement_later: list[Mismatch | Pending]
    reassignments_later: list[Mismatch | Pending]
    placements: int
    late_members_accepted: int
    reassignments_checked: int


class ScreeningAudit:
    """Re-runs each decision on its members and follows each group's chain of decisions.

    Reads `person-returned` and `screened` alone, and shares no state with
    `FollowUpAudit`: the two can run in two processes (`services.audit.parallel`).
    """

    def __init__(self, rule_sets: RuleSets | None = None, keep_decided: int = KEEP_DECIDED) -> None:
        self.rule_sets = rule_sets or RuleSets()
        self.assembler = GroupAssembler(keep_decided)
        self.chains = ChainTracker()
        self.mismatches: list[Mismatch] = []
        self._not_current: dict[str, Assembled] = {}  # the group's last pairing, if stale
        self.rechecked = 0
        self.erased: list[str] = []

    def feed(self, event: Logged) -> None:
        """Check or record one `person-returned` or `screened` event."""
        if event.topic == "person-returned":
            self.chains.on_person(event)
            self._recheck(self.assembler.add_person(event))
        elif event.topic == "screened":
            group_id = event.data.group_id
            for category, detail in self.chains.on_screened(event):
                self.mismatches.append(Mismatch(category, detail, group_id, event.where))
            self._recheck(self.assembler.add_screened(event))

    def finish(self, as_of: datetime, grace: timedelta) -> ScreeningFound:
        """What was found, once every event was fed; `as_of` is the end of the audit."""
        self._recheck(self.assembler.finish())
        undecided: list[Mismatch | Pending] = []
        for member in self.assembler.undecided():
            detail = f"{member.record.case_id} has no screened event"
            group = member.record.group_id
            if member.occurred_at + grace <= as_of:
                undecided.append(
                    Mismatch(findings.PERSON_WITHOUT_DECISION, detail, group, member.where)
                )
            else:
                undecided.append(Pending(findings.PERSON_WITHOUT_DECISION, group, detail))
        return ScreeningFound(
            mismatches=self.mismatches,
            undecided=undecided,
            chains=list(self.chains.findings(as_of, grace)),
            live_not_current=list(self._live_not_current(as_of, grace)),
            rechecked=self.rechecked,
            erased=self.erased,
        )

    def _recheck(self, assembled: list[Assembled]) -> None:
        for item in assembled:
            self.rechecked += 1
            erased = erased_cases([member.record for member in item.members])
            if erased and not item.missing:
                self.erased.append(f"{item.decision.group_id}: {', '.join(erased)}")
            self.mismatches += _screening_mismatches(item, self.rule_sets)
            group_id = item.decision.group_id
            if item.not_current:
                self._not_current[group_id] = item
            else:
                self._not_current.pop(group_id, None)

    def _live_not_current(self, as_of: datetime, grace: timedelta) -> Iterator[Mismatch | Pending]:
        """Live decisions taken on a replaced record (an earlier one may be: it was redone)."""
        for group_id, item in sorted(self._not_current.items()):
            if self.chains.live_decision(group_id) != item.screened.event_id:
                continue
            detail = f"decided on records that are not current for {list(item.not_current)}"
            if item.screened.occurred_at + grace <= as_of:
                where = item.screened.where
                yield Mismatch(findings.LIVE_DECISION_NOT_CURRENT, detail, group_id, where)
            else:
                yield Pending(findings.LIVE_DECISION_NOT_CURRENT, group_id, detail)


class FollowUpAudit:
    """Re-checks placements, and what must follow decisions: every topic but
    `person-returned`, which it ignores."""

    def __init__(self, reference: Reference) -> None:
        self.placement = PlacementAuditor(reference)
        self.completeness = CompletenessTracker()
        self.reassignments = ReassignmentTracker()
        self.placements = 0

    def feed(self, event: Logged) -> None:
        """Check or record one event."""
        if event.topic == "person-returned":
            return
        if event.topic == "placed":
            self.placements += 1
        self.placement.on_event(event)
        self.completeness.on_event(event)
        self.reassignments.on_event(event)

    def finish(self, as_of: datetime, grace: timedelta) -> FollowUpFound:
        """What was found, once every event was fed; `as_of` is the end of the audit."""
        return FollowUpFound(
            completeness=self.completeness.mismatches,
            placement=self.placement.mismatches,
            reassignments=self.reassignments.mismatches,
            completeness_later=list(self.completeness.findings(as_of, grace)),
            placement_later=list(self.placement.findings(as_of, grace)),
            reassignments_later=list(self.reassignments.findings(as_of, grace)),
            placements=self.placements,
            late_members_accepted=self.completeness.late_members_accepted,
            reassignments_checked=self.reassignments.checked,
        )


def _screening_mismatches(item: Assembled, rule_sets: RuleSets) -> list[Mismatch]:
    decision, where = item.decision, item.screened.where
    found: list[tuple[str, str]] = []
    if item.missing:
        missing = list(item.missing)
        detail = f"no person-returned for {missing} (never recorded, or decided long before)"
        found.append((findings.SCREENED_WITHOUT_PERSON, detail))
    elif not item.causation_matches:
        cause = item.screened.envelope.causation_id
        detail = (
            f"causation_id {cause} is not the digest of the {len(item.members)} member event(s)"
        )
        found.append((findings.CAUSATION_DIFFERS, detail))
    rule_set = rule_sets.get(decision.rule_set)
    if rule_set is None:
        found.append((findings.UNKNOWN_RULE_SET, f"no rule set named {decision.rule_set!r}"))
    elif item.members and not item.missing:
        records = [member.record for member in item.members]
        if not erased_cases(records):  # erased: the recorded flags stand
            found += recheck(decision, readable(records), rule_set)
    return [Mismatch(category, detail, decision.group_id, where) for category, detail in found]
